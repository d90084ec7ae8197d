// The server voice shared by every answer of a process: the TextToSpeech
// port, its health (after a failure the voice rests per the retry rules
// before the next answer tries it again) and the latency observations.
// One answer's pipeline is AnswerSpeech (answer-speech.ts).
import type { ServerMessageOf } from "@tutor/protocol";
import { LlmError } from "../errors.js";
import { MODEL_CHAIN_DEFAULTS, type RetryableKind } from "../llm/chain.js";
import { silentLogger, systemClock, type Clock, type Logger, type SpeechAudio, type TextToSpeech } from "../ports.js";

export interface ServerSpeechSettings {
  /** One sentence's synthesis: no whole audio by then and the voice is given up for the answer. */
  attemptTimeoutMs: number;
  /** Sentences being synthesised or waiting to be sent, per answer (1 = no overlap). */
  maxInFlight: number;
  /** Rest after a retryable failure, per kind and consecutive failure (ARCHITECTURE.md schedule). */
  retryDelaysMs: Record<RetryableKind, readonly number[]>;
  /** Rest after a failure that is not retryable (garbage, wrong content type, 4xx). */
  otherFailureRestMs: number;
  /** Speaking speed asked of the server (1 = normal). */
  speed: number;
}

export const SERVER_SPEECH_DEFAULTS: ServerSpeechSettings = {
  attemptTimeoutMs: 10_000,
  maxInFlight: 2,
  retryDelaysMs: MODEL_CHAIN_DEFAULTS.retryDelaysMs,
  otherFailureRestMs: 0,
  speed: 1,
};

/** What goes to the transport per sentence: the `speech_audio` header and its audio. */
export interface AudioSink {
  /** Sends one sentence; a returned promise is backpressure (the next waits for it). */
  play(header: ServerMessageOf<"speech_audio">, audio: SpeechAudio): void | Promise<void>;
  /** The answer was stopped (cancel, barge-in, new question): silence what is queued for it now. */
  stop?(messageId: string): void;
}

export type SpeechLatencyStage = "sent" | "played";

export interface ServerSpeechOptions {
  /** Named in tts_starting / voice_info / tts_complete (TTS_PROVIDER). */
  provider?: string;
  settings?: Partial<ServerSpeechSettings>;
  /** `sent`: a sentence complete -> its first audio byte handed to the transport; `played`: an answer's first sentence complete -> the client says it plays. */
  onLatency?: (stage: SpeechLatencyStage, ms: number) => void;
  clock?: Clock;
  logger?: Logger;
}

/** Answers whose first sentence waits for the client to say it plays, kept at most this many. */
const MAX_AWAITING_PLAY = 256;

export class ServerSpeech {
  readonly settings: ServerSpeechSettings;
  readonly provider: string;
  readonly clock: Clock;
  readonly log: Logger;
  readonly #onLatency: ServerSpeechOptions["onLatency"];
  #restUntil = 0;
  #failures: Partial<Record<RetryableKind, number>> = {};
  readonly #awaitingPlay = new Map<string, number>();

  constructor(
    readonly tts: TextToSpeech,
    options: ServerSpeechOptions = {},
  ) {
    this.settings = { ...SERVER_SPEECH_DEFAULTS, ...options.settings };
    if (!(this.settings.maxInFlight >= 1 && this.settings.attemptTimeoutMs > 0)) {
      throw new RangeError("server speech: maxInFlight must be >= 1 and attemptTimeoutMs > 0");
    }
    this.provider = options.provider ?? "openai";
    this.clock = options.clock ?? systemClock;
    this.log = options.logger ?? silentLogger;
    this.#onLatency = options.onLatency;
  }

  /** The voice may be tried for a new answer (it is not resting after a failure). */
  available(): boolean {
    return this.clock.now() >= this.#restUntil;
  }

  succeeded(): void {
    this.#failures = {};
    this.#restUntil = 0;
  }

  /** Records a failure; the voice rests per its kind before the next answer tries it. */
  failed(err: LlmError): void {
    let rest = this.settings.otherFailureRestMs;
    if (err.retryable) {
      const kind = err.kind as RetryableKind;
      const n = (this.#failures[kind] = (this.#failures[kind] ?? 0) + 1);
      const schedule = this.settings.retryDelaysMs[kind];
      rest = kind === "rate_limited" && err.retryAfterMs !== undefined ? err.retryAfterMs : (schedule[Math.min(n, schedule.length) - 1] ?? 0);
    }
    this.#restUntil = Math.max(this.#restUntil, this.clock.now() + rest);
    this.log.warn({ event: "tts_failed", kind: err.kind, status: err.status, rest_ms: rest, err: err.message }, "server voice failed; the answer goes on in the browser's voice");
  }

  observe(stage: SpeechLatencyStage, ms: number): void {
    this.#onLatency?.(stage, ms);
  }

  /** The first sentence of `messageId` was complete at `at`; `played` measures from there. */
  awaitPlay(messageId: string, at: number): void {
    if (this.#awaitingPlay.size >= MAX_AWAITING_PLAY) this.#awaitingPlay.delete(this.#awaitingPlay.keys().next().value!);
    this.#awaitingPlay.set(messageId, at);
  }

  /** The client started playing the server audio of `messageId` (playback_state). */
  played(messageId: string): void {
    const at = this.#awaitingPlay.get(messageId);
    if (at === undefined) return;
    this.#awaitingPlay.delete(messageId);
    this.observe("played", this.clock.now() - at);
  }
}

/** Whatever a TextToSpeech threw, as an LlmError. */
export function toTtsError(err: unknown, model: string): LlmError {
  return err instanceof LlmError ? err : new LlmError("bad_response", model, String(err), { cause: err });
}
