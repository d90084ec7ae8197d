// Retrying a transcription, with the language models' discipline: an adapter
// makes one attempt and throws a typed LlmError; this decides whether to come
// back (timeouts, 429 honouring Retry-After, 5xx), waits with jitter, and
// gives up at a deadline so a student never waits on a dead service for long.
import { LlmError } from "../errors.js";
import { abortableSleep, type RetryableKind } from "../llm/chain.js";
import { silentLogger, systemClock, type Clock, type Logger, type SpeechToText, type TranscribeOptions } from "../ports.js";
import { VOICE_DEFAULTS, type SttRetrySettings } from "./settings.js";

export interface RetryingSpeechToTextOptions extends Partial<Omit<SttRetrySettings, "retryDelaysMs">> {
  /** Per kind; kinds left out keep the default schedule. */
  retryDelaysMs?: Partial<Record<RetryableKind, readonly number[]>>;
  random?: () => number;
  clock?: Clock;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  logger?: Logger;
}

export class RetryingSpeechToText implements SpeechToText {
  readonly settings: SttRetrySettings;
  readonly #inner: SpeechToText;
  readonly #random: () => number;
  readonly #clock: Clock;
  readonly #sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  readonly #log: Logger;

  constructor(inner: SpeechToText, options: RetryingSpeechToTextOptions = {}) {
    const { random, clock, sleep, logger, ...rest } = options;
    const defined = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined)) as Partial<SttRetrySettings>;
    this.settings = {
      ...VOICE_DEFAULTS.stt,
      ...defined,
      retryDelaysMs: { ...VOICE_DEFAULTS.stt.retryDelaysMs, ...rest.retryDelaysMs },
    };
    this.#inner = inner;
    this.#random = random ?? Math.random;
    this.#clock = clock ?? systemClock;
    this.#sleep = sleep ?? abortableSleep;
    this.#log = logger ?? silentLogger;
  }

  get model(): string {
    return this.#inner.model;
  }

  async transcribe(wav: Uint8Array, opts: TranscribeOptions): Promise<string> {
    const s = this.settings;
    const { signal } = opts;
    const deadline = this.#clock.now() + s.deadlineMs;
    const failures: Partial<Record<RetryableKind, number>> = {};
    for (let attempt = 1; ; attempt++) {
      if (signal.aborted) throw new LlmError("aborted", this.model, "the transcription was cancelled");
      const remaining = deadline - this.#clock.now();
      try {
        return await this.#inner.transcribe(wav, {
          ...opts,
          timeoutMs: Math.max(1, Math.min(opts.timeoutMs ?? s.attemptTimeoutMs, remaining)),
        });
      } catch (err) {
        const e = err instanceof LlmError ? err : new LlmError("bad_response", this.model, String(err), { cause: err });
        if (signal.aborted || e.kind === "aborted") throw new LlmError("aborted", this.model, "the transcription was cancelled", { cause: e });
        if (!e.retryable || attempt >= s.maxAttempts) throw e;
        const kind = e.kind as RetryableKind;
        const n = (failures[kind] = (failures[kind] ?? 0) + 1);
        const delay = this.#backoff(kind, n, e.retryAfterMs);
        // Waiting past the deadline would only make the student wait for nothing.
        if (this.#clock.now() + delay >= deadline) throw e;
        this.#log.info(
          { event: "stt_retry", model: this.model, kind: e.kind, status: e.status, attempt, delayMs: Math.round(delay) },
          "transcription attempt failed; retrying",
        );
        try {
          await this.#sleep(delay, signal);
        } catch {
          throw new LlmError("aborted", this.model, "the transcription was cancelled", { cause: e });
        }
      }
    }
  }

  #backoff(kind: RetryableKind, failures: number, retryAfterMs: number | undefined): number {
    const jitter = this.settings.jitter;
    if (kind === "rate_limited" && retryAfterMs !== undefined) return retryAfterMs * (1 + jitter * this.#random());
    const schedule = this.settings.retryDelaysMs[kind];
    const base = schedule[Math.min(failures, schedule.length) - 1] ?? 0;
    return base * (1 + jitter * (2 * this.#random() - 1));
  }
}
