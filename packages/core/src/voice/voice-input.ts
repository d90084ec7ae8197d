// One audio stream (audio_start .. audio_end): binary frames in, utterances
// out. Frames are checked and queued at once; a single pump hands whole
// detector frames to the VAD (in order — it is stateful) and feeds the scores
// to the segmenter. When audio arrives faster than the detector scores it,
// `push` says so and `drained()` tells the transport when to read again.
import type { Clock, VadFactory, VoiceActivityDetector } from "../ports.js";
import { decodePcmFrame } from "./pcm.js";
import { UtteranceSegmenter, type Utterance } from "./segmenter.js";
import type { VoiceSettings } from "./settings.js";

export interface VoiceInputListener {
  /** Called per speech frame of an open utterance with the talk time so far (barge-in decisions). */
  speech(talkMs: number): void;
  utterance(u: Utterance): void;
  /** The detector failed; the stream is closed. */
  failed(err: unknown): void;
}

export type PushResult = { ok: true; backlogged: boolean } | { ok: false; message: string };

interface Chunk {
  samples: Int16Array;
  at: number;
}

export class VoiceInput {
  readonly #settings: VoiceSettings;
  readonly #listener: VoiceInputListener;
  readonly #clock: Clock;
  readonly #vad: Promise<VoiceActivityDetector>;
  #segmenter: UtteranceSegmenter | undefined;
  #queue: Chunk[] = [];
  #first = 0; // index of the oldest chunk still queued (shifting a long array is O(n))
  #head = 0; // samples of that chunk already consumed
  #queued = 0; // samples waiting
  #pumping: Promise<void> | undefined;
  #drainWaiters: (() => void)[] = [];
  #closed = false;
  #ended = false;
  #failed = false;
  #heardSpeech = false;
  #receivedSamples = 0;

  constructor(createVad: VadFactory, listener: VoiceInputListener, settings: VoiceSettings, clock: Clock) {
    this.#settings = settings;
    this.#listener = listener;
    this.#clock = clock;
    this.#vad = createVad();
    // Failure is reported by the pump; this only keeps an early rejection from going unhandled.
    this.#vad.catch(() => {});
  }

  /** Whether any utterance was confirmed in this stream. */
  get heardSpeech(): boolean {
    return this.#heardSpeech;
  }

  /** Audio received so far, in ms. */
  get receivedMs(): number {
    return (this.#receivedSamples / this.#settings.sampleRate) * 1000;
  }

  /** Audio waiting for the detector, in ms. */
  get backlogMs(): number {
    return (this.#queued / this.#settings.sampleRate) * 1000;
  }

  /** Checks and queues one binary frame. */
  push(bytes: Uint8Array): PushResult {
    if (this.#closed || this.#ended) return { ok: false, message: "the audio stream is closed; send audio_start first" };
    const s = this.#settings;
    const frame = decodePcmFrame(bytes, s.maxFrameBytes, s.sampleRate);
    if (!frame.ok) return frame;
    const limit = (s.backlogLimitMs / 1000) * s.sampleRate;
    if (this.#queued + frame.samples.length > limit) {
      return {
        ok: false,
        message: `audio is arriving faster than it can be processed (${Math.round(this.backlogMs)} ms waiting); frame dropped`,
      };
    }
    this.#queue.push({ samples: frame.samples, at: this.#clock.now() });
    this.#queued += frame.samples.length;
    this.#receivedSamples += frame.samples.length;
    this.#pump();
    return { ok: true, backlogged: this.backlogMs > s.backlogHighWaterMs };
  }

  /** Resolves once the backlog is back under half the high-water mark (or the stream is over). */
  drained(): Promise<void> {
    if (this.#closed || this.#failed || this.backlogMs <= this.#settings.backlogHighWaterMs / 2) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  /** audio_end: scores what is queued, completes an open utterance, frees the detector. */
  async end(): Promise<void> {
    if (this.#closed || this.#ended) return;
    this.#ended = true;
    this.#pump();
    await this.#pumping;
    if (!this.#closed && !this.#failed && this.#segmenter) {
      const tail = this.#take(this.#queued);
      this.#segmenter.flush(tail.samples);
    }
    this.close();
  }

  /** Drops everything now (connection closed, sign-out, a new stream). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue = [];
    this.#first = 0;
    this.#queued = 0;
    this.#wakeDrainWaiters();
    void this.#vad.then(
      (vad) => vad.close(),
      () => {},
    );
  }

  #pump(): void {
    if (this.#pumping) return;
    this.#pumping = this.#run().finally(() => {
      this.#pumping = undefined;
      this.#wakeDrainWaiters();
    });
  }

  async #run(): Promise<void> {
    let vad: VoiceActivityDetector;
    try {
      vad = await this.#vad;
    } catch (err) {
      return this.#fail(err);
    }
    const segmenter = (this.#segmenter ??= new UtteranceSegmenter(
      { ...this.#settings, frameSamples: vad.frameSamples },
      {
        speech: (talkMs) => {
          this.#heardSpeech = true;
          if (!this.#closed) this.#listener.speech(talkMs);
        },
        utterance: (u) => {
          if (!this.#closed) this.#listener.utterance(u);
        },
      },
    ));
    const frameSamples = vad.frameSamples;
    while (!this.#closed && this.#queued >= frameSamples) {
      const frames = Math.min(Math.floor(this.#queued / frameSamples), this.#settings.maxBatchFrames);
      const batch = this.#take(frames * frameSamples, frameSamples);
      let probabilities: Float32Array;
      try {
        probabilities = await vad.probabilities(batch.samples);
      } catch (err) {
        return this.#fail(err);
      }
      if (this.#closed) return;
      for (let i = 0; i < frames; i++) {
        segmenter.push(batch.samples.subarray(i * frameSamples, (i + 1) * frameSamples), probabilities[i] ?? 0, batch.times[i]!);
      }
      if (this.backlogMs <= this.#settings.backlogHighWaterMs / 2) this.#wakeDrainWaiters();
    }
  }

  /**
   * Removes `n` samples from the queue; with `frameSamples`, also the arrival
   * time of each frame (that of the chunk holding its last sample).
   */
  #take(n: number, frameSamples = 0): { samples: Int16Array; times: number[] } {
    const samples = new Int16Array(n);
    const times: number[] = [];
    let filled = 0;
    while (filled < n) {
      const chunk = this.#queue[this.#first]!;
      const available = chunk.samples.length - this.#head;
      const used = Math.min(available, n - filled);
      samples.set(chunk.samples.subarray(this.#head, this.#head + used), filled);
      const before = filled;
      filled += used;
      if (frameSamples) {
        // Frames whose last sample lies in this chunk.
        for (let end = (Math.floor(before / frameSamples) + 1) * frameSamples; end <= filled; end += frameSamples) {
          times.push(chunk.at);
        }
      }
      if (used === available) {
        this.#first++;
        this.#head = 0;
        if (this.#first > 1024 && this.#first * 2 > this.#queue.length) {
          this.#queue = this.#queue.slice(this.#first);
          this.#first = 0;
        }
      } else {
        this.#head += used;
      }
    }
    this.#queued -= n;
    return { samples, times };
  }

  #fail(err: unknown): void {
    if (this.#closed) return;
    this.#failed = true;
    this.close();
    this.#listener.failed(err);
  }

  #wakeDrainWaiters(): void {
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const w of waiters) w();
  }
}
