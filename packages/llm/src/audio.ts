// Audio a speech server sends, as what the tutor plays: mono 16-bit samples
// at one rate. WAV (PCM 8/16/24/32-bit or float 32, any channel count) is
// read from its header; raw PCM is s16le at the rate its content type names
// (OpenAI's `pcm`: 24 kHz). Conversion is a windowed-sinc resampler: short
// sentences cost a few milliseconds, and downsampling low-passes first so a
// 44.1/48 kHz voice does not alias.

export interface DecodedAudio {
  samples: Int16Array;
  sampleRate: number;
}

export class AudioFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AudioFormatError";
  }
}

const tag = (b: Uint8Array, at: number) => String.fromCharCode(b[at]!, b[at + 1]!, b[at + 2]!, b[at + 3]!);

export function looksLikeWav(bytes: Uint8Array): boolean {
  return bytes.length >= 12 && tag(bytes, 0) === "RIFF" && tag(bytes, 8) === "WAVE";
}

/**
 * Decodes a WAV file to mono s16. Streaming servers write 0 or 0xFFFFFFFF as
 * the RIFF/data sizes (they do not know the length up front): the data then
 * runs to the end of the file.
 */
export function decodeWav(bytes: Uint8Array): DecodedAudio {
  if (!looksLikeWav(bytes)) throw new AudioFormatError("not a RIFF/WAVE file");
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let fmt: { format: number; channels: number; rate: number; bits: number } | undefined;
  let data: Uint8Array | undefined;
  for (let at = 12; at + 8 <= bytes.length; ) {
    const id = tag(bytes, at);
    let size = v.getUint32(at + 4, true);
    const body = at + 8;
    if (id === "data" && (size === 0 || size === 0xffffffff || body + size > bytes.length)) size = bytes.length - body;
    if (body + size > bytes.length) throw new AudioFormatError(`WAV chunk "${id}" runs past the end of the file`);
    if (id === "fmt ") {
      if (size < 16) throw new AudioFormatError("WAV fmt chunk too short");
      let format = v.getUint16(body, true);
      // WAVE_FORMAT_EXTENSIBLE: the real format is the first two bytes of the sub-format GUID.
      if (format === 0xfffe && size >= 26) format = v.getUint16(body + 24, true);
      fmt = { format, channels: v.getUint16(body + 2, true), rate: v.getUint32(body + 4, true), bits: v.getUint16(body + 14, true) };
    } else if (id === "data") {
      data = bytes.subarray(body, body + size);
      break;
    }
    at = body + size + (size % 2);
  }
  if (!fmt) throw new AudioFormatError("WAV file has no fmt chunk");
  if (!data) throw new AudioFormatError("WAV file has no data chunk");
  const { format, channels, rate, bits } = fmt;
  if (channels < 1 || channels > 8) throw new AudioFormatError(`WAV file has ${channels} channels`);
  if (rate < 8000 || rate > 192_000) throw new AudioFormatError(`WAV sample rate ${rate} Hz is out of range`);
  const pcm = format === 1 && [8, 16, 24, 32].includes(bits);
  const float = format === 3 && bits === 32;
  if (!pcm && !float) throw new AudioFormatError(`unsupported WAV encoding (format ${format}, ${bits} bits)`);
  const width = bits / 8;
  const frame = width * channels;
  const frames = Math.floor(data.length / frame);
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const read = (at: number): number => {
    if (float) return Math.max(-1, Math.min(1, dv.getFloat32(at, true))) * 32767;
    switch (bits) {
      case 8:
        return (dv.getUint8(at) - 128) * 256;
      case 16:
        return dv.getInt16(at, true);
      case 24:
        return ((dv.getUint8(at + 2) << 24) | (dv.getUint8(at + 1) << 16) | (dv.getUint8(at) << 8)) >> 16;
      default:
        return dv.getInt32(at, true) / 65536;
    }
  };
  const out = new Int16Array(frames);
  for (let i = 0; i < frames; i++) {
    let sum = 0;
    for (let c = 0; c < channels; c++) sum += read(i * frame + c * width);
    out[i] = clamp16(sum / channels);
  }
  return { samples: out, sampleRate: rate };
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Raw little-endian s16 mono. On a little-endian machine with the bytes at an
 * even offset the samples are a view of them (no copy: a sentence is ~140 KiB
 * at 24 kHz, and copying it again only feeds the garbage collector).
 */
export function decodePcm16(bytes: Uint8Array, sampleRate: number): DecodedAudio {
  if (bytes.length % 2) throw new AudioFormatError(`raw PCM of ${bytes.length} bytes is not whole 16-bit samples`);
  if (LITTLE_ENDIAN && bytes.byteOffset % 2 === 0) return { samples: new Int16Array(bytes.buffer, bytes.byteOffset, bytes.length / 2), sampleRate };
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Int16Array(bytes.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = dv.getInt16(i * 2, true);
  return { samples: out, sampleRate };
}

const HALF_TAPS = 8;

/** Windowed-sinc (Hann, 16 taps) resampling of mono s16; a no-op at the same rate. */
export function resample(samples: Int16Array, from: number, to: number): Int16Array {
  if (from === to || samples.length === 0) return samples;
  const ratio = to / from;
  const n = Math.max(1, Math.round(samples.length * ratio));
  const out = new Int16Array(n);
  // Downsampling: the kernel widens to cut at the new Nyquist frequency.
  const cutoff = Math.min(1, ratio);
  const half = Math.ceil(HALF_TAPS / cutoff);
  for (let i = 0; i < n; i++) {
    const x = i / ratio;
    const center = Math.floor(x);
    let acc = 0;
    let norm = 0;
    for (let k = center - half + 1; k <= center + half; k++) {
      if (k < 0 || k >= samples.length) continue;
      const d = (x - k) * cutoff;
      const sinc = d === 0 ? 1 : Math.sin(Math.PI * d) / (Math.PI * d);
      const w = 0.5 + 0.5 * Math.cos((Math.PI * (x - k)) / (half + 1));
      const h = sinc * w;
      acc += samples[k]! * h;
      norm += h;
    }
    out[i] = clamp16(norm ? acc / norm : 0);
  }
  return out;
}

function clamp16(x: number): number {
  return x > 32767 ? 32767 : x < -32768 ? -32768 : Math.round(x);
}

/** Peak absolute sample, 0..32768. */
export function peak(samples: Int16Array): number {
  let p = 0;
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i]!;
    const a = s < 0 ? -s : s;
    if (a > p) p = a;
  }
  return p;
}

/** Every sample is zero (stops at the first that is not: speech is rarely silent for long). */
export function isSilent(samples: Int16Array): boolean {
  for (let i = 0; i < samples.length; i++) if (samples[i] !== 0) return false;
  return true;
}
