// Microphone samples -> what the server's voice detector takes: 16 kHz mono
// signed 16-bit PCM in 20 ms frames. Pure code, shared by the AudioWorklet
// (which runs it on the audio thread) and the tests.

/**
 * The protocol's AUDIO_SAMPLE_RATE, written out: this file runs inside the
 * AudioWorklet, and importing @tutor/protocol would bundle zod into it
 * (a test checks the two agree).
 */
export const AUDIO_SAMPLE_RATE = 16_000;

/** 20 ms at 16 kHz: the small end of the protocol's 20–100 ms, so a barge-in is heard quickly. */
export const FRAME_SAMPLES = AUDIO_SAMPLE_RATE / 50;

/**
 * A streaming resampler: a windowed-sinc low-pass (so 48 kHz speech does not
 * alias into the 16 kHz band) evaluated at the two input samples around each
 * output instant, then linear interpolation between them. State carries over
 * between blocks, so 128-sample render quanta join without clicks.
 */
export class Resampler {
  private readonly step: number;
  private readonly kernel: Float32Array | null;
  private readonly half: number;
  private buf: Float32Array;
  /** Position of the next output sample in `buf`, in input samples. */
  private pos: number;

  constructor(
    readonly inRate: number,
    readonly outRate = AUDIO_SAMPLE_RATE,
  ) {
    if (!(inRate > 0) || !(outRate > 0)) throw new RangeError(`bad sample rates ${inRate} -> ${outRate}`);
    this.step = inRate / outRate;
    if (inRate === outRate) {
      this.kernel = null;
      this.half = 0;
    } else {
      // Cut-off a little under the lower Nyquist frequency, in cycles per input sample.
      const cutoff = (0.9 * 0.5 * Math.min(inRate, outRate)) / inRate;
      this.half = Math.max(8, Math.ceil(4 * Math.max(1, this.step)));
      const n = 2 * this.half + 1;
      const k = new Float32Array(n);
      let sum = 0;
      for (let i = 0; i < n; i++) {
        const x = i - this.half;
        const sinc = x === 0 ? 2 * cutoff : Math.sin(2 * Math.PI * cutoff * x) / (Math.PI * x);
        const blackman = 0.42 - 0.5 * Math.cos((2 * Math.PI * i) / (n - 1)) + 0.08 * Math.cos((4 * Math.PI * i) / (n - 1));
        k[i] = sinc * blackman;
        sum += k[i]!;
      }
      for (let i = 0; i < n; i++) k[i]! /= sum;
      this.kernel = k;
    }
    this.buf = new Float32Array(this.half);
    this.pos = this.half;
  }

  /** Feeds input samples; returns the output samples they complete. */
  push(input: Float32Array): Float32Array {
    if (!this.kernel) return input.slice();
    const joined = new Float32Array(this.buf.length + input.length);
    joined.set(this.buf);
    joined.set(input, this.buf.length);
    const out: number[] = [];
    const h = this.half;
    const k = this.kernel;
    const filtered = (i: number) => {
      let acc = 0;
      for (let j = 0; j < k.length; j++) acc += k[j]! * joined[i - h + j]!;
      return acc;
    };
    while (Math.floor(this.pos) + 1 + h < joined.length) {
      const i = Math.floor(this.pos);
      const frac = this.pos - i;
      const a = filtered(i);
      out.push(frac === 0 ? a : a + (filtered(i + 1) - a) * frac);
      this.pos += this.step;
    }
    // Keep what the next outputs still need: `half` samples of history before the next position.
    const keepFrom = Math.max(0, Math.floor(this.pos) - h);
    this.buf = joined.slice(keepFrom);
    this.pos -= keepFrom;
    return Float32Array.from(out);
  }
}

/** Float samples (-1..1) to signed 16-bit, clipped. */
export function floatToS16(input: Float32Array): Int16Array {
  const out = new Int16Array(input.length);
  for (let i = 0; i < input.length; i++) {
    const s = Math.max(-1, Math.min(1, input[i]!));
    out[i] = s < 0 ? Math.round(s * 0x8000) : Math.round(s * 0x7fff);
  }
  return out;
}

/** Root mean square of 16-bit samples, 0..1 of full scale. */
export function rms(samples: Int16Array): number {
  if (samples.length === 0) return 0;
  let sum = 0;
  for (const s of samples) sum += s * s;
  return Math.sqrt(sum / samples.length) / 32768;
}

/** Cuts a stream of samples into frames of exactly `size` samples. */
export class Framer {
  private pending = new Int16Array(0);

  constructor(readonly size = FRAME_SAMPLES) {}

  push(samples: Int16Array): Int16Array[] {
    const all = new Int16Array(this.pending.length + samples.length);
    all.set(this.pending);
    all.set(samples, this.pending.length);
    const frames: Int16Array[] = [];
    let at = 0;
    for (; at + this.size <= all.length; at += this.size) frames.push(all.slice(at, at + this.size));
    this.pending = all.slice(at);
    return frames;
  }
}

/** A level for the meter: speech at a normal distance reads about half way, silence near zero. */
export function meterLevel(frameRms: number): number {
  if (frameRms <= 0) return 0;
  // -60 dBFS .. -10 dBFS mapped to 0..1.
  const db = 20 * Math.log10(frameRms);
  return Math.max(0, Math.min(1, (db + 60) / 50));
}
