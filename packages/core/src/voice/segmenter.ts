// Speech probabilities per frame in, utterances out. Pure and synchronous:
// the detector's scores come from outside (VoiceInput), so this state machine
// is tested on plain numbers and costs nanoseconds per frame.
//
//   idle --p>=activation--> pending --speech lasts minSpeechMs--> speaking
//     ^                        |  p<deactivation (a click, a cough)   |
//     +------------------------+                                      |
//     +------------- minSilenceMs of p<deactivation: utterance -------+
//
// A spoken question longer than maxUtteranceMs is cut into pieces so each can
// be transcribed on its own; pieces are cut just before a speech frame, so
// every piece holds speech and the last one closes the question.

export interface SegmenterSettings {
  sampleRate: number;
  /** Samples per scored frame. */
  frameSamples: number;
  activationThreshold: number;
  deactivationThreshold: number;
  minSpeechMs: number;
  minSilenceMs: number;
  prefixPaddingMs: number;
  maxUtteranceMs: number;
}

export type UtteranceEnd =
  /** The speaker paused for minSilenceMs: the question is complete. */
  | "silence"
  /** Cut at maxUtteranceMs while the speaker goes on: more pieces follow. */
  | "max_length"
  /** The stream ended (audio_end) during speech: the question is complete. */
  | "end_of_stream";

export interface Utterance {
  /** Prefix padding + speech (+ up to prefixPaddingMs of the silence after it). */
  pcm: Int16Array;
  /** Time judged as speech in this piece. */
  speechMs: number;
  /** Stream time (ms since the stream began) of the first sample of `pcm`. */
  startMs: number;
  /** Stream time where the last speech frame ended. */
  speechEndMs: number;
  end: UtteranceEnd;
  /** Clock time when the audio of the last speech frame arrived (for latency). */
  speechEndedAt: number;
}

export interface SegmenterSink {
  /**
   * After each speech frame of a confirmed utterance: how long the speaker has
   * been talking without a pause of minSilenceMs (carried across max-length cuts).
   */
  speech(talkMs: number): void;
  utterance(u: Utterance): void;
}

const enum State {
  Idle,
  Pending,
  Speaking,
}

export class UtteranceSegmenter {
  readonly frameMs: number;
  readonly #s: SegmenterSettings;
  readonly #sink: SegmenterSink;
  readonly #prefixFrames: number;
  #state = State.Idle;
  #frame = 0; // stream frames seen
  #prefix: Int16Array[] = [];
  // pending
  #pending: Int16Array[] = [];
  #pendingStart = 0;
  #pendingMs = 0;
  #pendingAt = 0;
  // speaking
  #frames: Int16Array[] = [];
  #startFrame = 0;
  #lastSpeech = -1; // index into #frames
  #speechMs = 0;
  #talkMs = 0;
  #silenceMs = 0;
  #speechEndedAt = 0;
  /** minSilenceMs in whole frames (the nearest count). */
  readonly #silenceEndMs: number;

  constructor(settings: SegmenterSettings, sink: SegmenterSink) {
    this.#s = settings;
    this.#sink = sink;
    this.frameMs = (settings.frameSamples / settings.sampleRate) * 1000;
    this.#prefixFrames = Math.ceil(settings.prefixPaddingMs / this.frameMs);
    // Silence is counted in whole frames, to the nearest: the speech ended somewhere inside
    // the last voiced frame, so 31 silent frames of 32 ms after it are 0.99–1.02 s of pause
    // for a 1.0 s window; rounding up to 32 would hold every question 24–56 ms longer.
    this.#silenceEndMs = Math.max(1, Math.round(settings.minSilenceMs / this.frameMs)) * this.frameMs;
  }

  /** True while an utterance is confirmed and open. */
  get speaking(): boolean {
    return this.#state === State.Speaking;
  }

  /** One scored frame; `at` is the clock time its audio arrived. */
  push(frame: Int16Array, probability: number, at: number): void {
    const index = this.#frame++;
    const s = this.#s;
    switch (this.#state) {
      case State.Idle:
        if (probability >= s.activationThreshold) {
          this.#state = State.Pending;
          this.#pending = [frame];
          this.#pendingStart = index;
          this.#pendingMs = this.frameMs;
          this.#pendingAt = at;
          this.#confirmIfLongEnough();
        } else {
          this.#keepPrefix(frame);
        }
        return;
      case State.Pending:
        if (probability >= s.deactivationThreshold) {
          this.#pending.push(frame);
          this.#pendingMs += this.frameMs;
          this.#pendingAt = at;
          this.#confirmIfLongEnough();
        } else {
          // Too short to be speech: it becomes context for the next onset.
          for (const f of this.#pending) this.#keepPrefix(f);
          this.#keepPrefix(frame);
          this.#pending = [];
          this.#state = State.Idle;
        }
        return;
      case State.Speaking:
        if (probability >= s.deactivationThreshold) {
          if ((this.#frames.length + 1) * this.frameMs > s.maxUtteranceMs) this.#cut(index);
          this.#frames.push(frame);
          this.#lastSpeech = this.#frames.length - 1;
          this.#speechMs += this.frameMs;
          this.#talkMs += this.frameMs;
          this.#silenceMs = 0;
          this.#speechEndedAt = at;
          this.#sink.speech(this.#talkMs);
        } else {
          this.#frames.push(frame);
          this.#silenceMs += this.frameMs;
          if (this.#silenceMs >= this.#silenceEndMs) this.#finish("silence");
        }
        return;
    }
  }

  /**
   * The stream ended: an open utterance is complete (with `tail`, the samples
   * that did not fill a whole frame); speech too short to confirm is dropped.
   */
  flush(tail?: Int16Array): void {
    if (this.#state === State.Speaking) {
      if (tail && tail.length) this.#frames.push(tail);
      this.#finish("end_of_stream");
    }
    this.#state = State.Idle;
    this.#pending = [];
    this.#prefix = [];
  }

  #confirmIfLongEnough(): void {
    if (this.#pendingMs < this.#s.minSpeechMs) return;
    this.#state = State.Speaking;
    this.#frames = [...this.#prefix, ...this.#pending];
    this.#startFrame = this.#pendingStart - this.#prefix.length;
    this.#lastSpeech = this.#frames.length - 1;
    this.#speechMs = this.#pendingMs;
    this.#talkMs = this.#pendingMs;
    this.#silenceMs = 0;
    this.#speechEndedAt = this.#pendingAt;
    this.#prefix = [];
    this.#pending = [];
    this.#sink.speech(this.#talkMs);
  }

  /** Emits the piece so far; the speech frame at `index` starts the next one. */
  #cut(index: number): void {
    this.#emit(this.#frames, "max_length");
    this.#frames = [];
    this.#startFrame = index;
    this.#lastSpeech = -1;
    this.#speechMs = 0;
  }

  #finish(end: "silence" | "end_of_stream"): void {
    // Keep up to prefixPaddingMs of the silence after the last speech frame.
    const keep = Math.min(this.#frames.length, this.#lastSpeech + 1 + this.#prefixFrames);
    this.#emit(this.#frames.slice(0, keep), end);
    // The silence that ended it is the context of the next onset.
    this.#prefix = this.#frames.slice(Math.max(this.#lastSpeech + 1, this.#frames.length - this.#prefixFrames));
    this.#frames = [];
    this.#state = State.Idle;
    this.#talkMs = 0;
    this.#silenceMs = 0;
  }

  #emit(frames: Int16Array[], end: UtteranceEnd): void {
    let total = 0;
    for (const f of frames) total += f.length;
    const pcm = new Int16Array(total);
    let at = 0;
    for (const f of frames) {
      pcm.set(f, at);
      at += f.length;
    }
    const frameMs = this.frameMs;
    this.#sink.utterance({
      pcm,
      speechMs: this.#speechMs,
      startMs: this.#startFrame * frameMs,
      speechEndMs: (this.#startFrame + this.#lastSpeech + 1) * frameMs,
      end,
      speechEndedAt: this.#speechEndedAt,
    });
  }

  #keepPrefix(frame: Int16Array): void {
    if (this.#prefixFrames === 0) return;
    this.#prefix.push(frame);
    if (this.#prefix.length > this.#prefixFrames) this.#prefix.shift();
  }
}
