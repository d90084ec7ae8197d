// The model chain: which model to ask, when to come back to one that failed,
// and when to give up. Pure policy over ChatModel ports; its only I/O is the
// models' and its timers (clock and sleep are injectable).
//
// Better than the seed, which slept through one model's whole backoff before
// trying the next: a retryable failure moves on to the next healthy model at
// once; the backoff only decides when a model may be asked again, and that
// state outlives the turn, so the next turn does not re-hit a model that just
// said 429. A per-model circuit breaker stops a dead model from costing every
// turn a timeout, and every turn has a deadline.
import { LlmError, TutorError, type LlmErrorKind } from "../errors.js";
import { silentLogger, systemClock, type ChatModel, type ChatRequest, type Clock, type Logger } from "../ports.js";

/** The chain's tunables; ARCHITECTURE.md "Seed settings" for the retry schedule. */
export const MODEL_CHAIN_DEFAULTS = {
  /** Per attempt: first token (stream) or whole answer (complete), unless the request sets timeoutMs. */
  attemptTimeoutMs: 10_000,
  /** Per turn: no first token by then and the turn ends with reason "deadline". */
  deadlineMs: 45_000,
  /** Waits before coming back to a model, by failure kind; the last entry repeats. */
  retryDelaysMs: {
    timeout: [1_000, 2_000, 4_000],
    rate_limited: [5_000, 10_000, 20_000],
    unavailable: [3_000, 6_000, 12_000],
  },
  /** ±20 % on scheduled delays (Retry-After is only ever lengthened). */
  jitter: 0.2,
  /** One try plus the seed's three retries, per model per turn. */
  maxAttemptsPerModel: 4,
  /** Consecutive failures that open a model's breaker. */
  breakerThreshold: 3,
  /** How long an open breaker skips the model before letting one probe through. */
  breakerCooldownMs: 15_000,
} as const;

export type RetryableKind = "timeout" | "rate_limited" | "unavailable";

export interface ModelChainSettings {
  attemptTimeoutMs: number;
  deadlineMs: number;
  retryDelaysMs: Record<RetryableKind, readonly number[]>;
  jitter: number;
  maxAttemptsPerModel: number;
  breakerThreshold: number;
  breakerCooldownMs: number;
}

export interface ModelChainOptions extends Partial<Omit<ModelChainSettings, "retryDelaysMs">> {
  /** Per kind; kinds left out keep the default schedule. */
  retryDelaysMs?: Partial<Record<RetryableKind, readonly number[]>>;
  /** In [0, 1); drives the jitter. */
  random?: () => number;
  clock?: Clock;
  /** Resolves after `ms`; rejects as soon as `signal` aborts. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  logger?: Logger;
}

export interface ChainCallOptions {
  signal: AbortSignal;
  /** Overrides the chain's per-turn deadline. */
  deadlineMs?: number;
}

export interface ChainDelta {
  delta: string;
  /** The model producing this answer; constant within one answer. */
  model: string;
}

export interface ChainAttempt {
  model: string;
  kind: LlmErrorKind;
  status?: number;
  /** With `not_ready`: the model's message for the student ("getting ready: downloading its model (43%)"). */
  message?: string;
}

/**
 * exhausted: every model failed or is out of tries; deadline: the turn ran out
 * of time before a first token; aborted: the caller's signal fired;
 * interrupted: a model failed after sending text (see `partialText`).
 */
export type ChainFailureReason = "exhausted" | "deadline" | "aborted" | "interrupted";

export class ChainError extends TutorError {
  readonly reason: ChainFailureReason;
  readonly attempts: ChainAttempt[];
  /** Text already streamed to the caller before the failure ("" if none). */
  readonly partialText: string;
  /** The model that was answering when it failed mid-answer. */
  readonly model: string | undefined;

  constructor(
    reason: ChainFailureReason,
    attempts: ChainAttempt[],
    opts: { partialText?: string; model?: string; cause?: unknown } = {},
  ) {
    super("llm_unavailable", chainMessage(reason, attempts, opts.model), { cause: opts.cause });
    this.name = "ChainError";
    this.reason = reason;
    this.attempts = attempts;
    this.partialText = opts.partialText ?? "";
    this.model = opts.model;
  }
}

function chainMessage(reason: ChainFailureReason, attempts: ChainAttempt[], model: string | undefined): string {
  const tried = attempts.map((a) => `${a.model} ${a.kind}${a.status ? ` (${a.status})` : ""}`).join(", ");
  const suffix = tried ? `; attempts: ${tried}` : "";
  switch (reason) {
    case "aborted":
      return `the answer was cancelled${suffix}`;
    case "deadline":
      return `no language model answered before the turn's deadline${suffix}`;
    case "interrupted":
      return `${model ?? "the model"} stopped in the middle of its answer${suffix}`;
    case "exhausted":
      return `no language model could answer${suffix}`;
  }
}

export type BreakerState = "closed" | "open" | "half_open";

export interface ModelHealth {
  model: string;
  state: BreakerState;
  /** Epoch ms before which the chain will not ask this model (0: never failed). */
  availableAt: number;
  consecutiveFailures: number;
}

interface ModelState {
  /** "open" turns into "half_open" lazily, once availableAt has passed. */
  state: "closed" | "open" | "half_open";
  availableAt: number;
  consecutiveFailures: number;
  /** A half-open model lets exactly one request through at a time. */
  probing: boolean;
}

export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, Math.max(0, ms));
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Reason for cancelling our own timers. An abort() without a reason builds a
 * DOMException (with a stack) every time; this runs on every turn.
 */
const SETTLED = Object.freeze(new Error("settled"));

type Call = (model: ChatModel, request: ChatRequest, signal: AbortSignal) => AsyncIterable<string>;

export class ModelChain {
  readonly models: readonly ChatModel[];
  readonly settings: ModelChainSettings;
  private readonly states: ModelState[];
  private readonly random: () => number;
  private readonly clock: Clock;
  private readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  private readonly logger: Logger;
  /** Turns waiting for a model to become usable, woken when a probe ends. */
  private readonly waiters = new Set<() => void>();

  constructor(models: ChatModel[], options: ModelChainOptions = {}) {
    if (models.length === 0) throw new Error("ModelChain needs at least one model");
    const names = new Set<string>();
    for (const m of models) {
      if (names.has(m.name)) throw new Error(`ModelChain lists model ${m.name} twice`);
      names.add(m.name);
    }
    this.models = [...models];
    const { random, clock, sleep, logger, ...settings } = options;
    this.settings = {
      ...MODEL_CHAIN_DEFAULTS,
      ...definedOnly(settings),
      retryDelaysMs: { ...MODEL_CHAIN_DEFAULTS.retryDelaysMs, ...settings.retryDelaysMs },
    };
    validate(this.settings);
    this.random = random ?? Math.random;
    this.clock = clock ?? systemClock;
    this.sleep = sleep ?? abortableSleep;
    this.logger = logger ?? silentLogger;
    this.states = models.map(() => ({ state: "closed", availableAt: 0, consecutiveFailures: 0, probing: false }));
  }

  /**
   * Streams one answer. Falls through to the next model while nothing has
   * been sent; once text went out it never switches models (the answer would
   * not read as one) and throws ChainError("interrupted") with the partial text.
   */
  stream(request: ChatRequest, options: ChainCallOptions): AsyncIterable<ChainDelta> {
    return this.run(request, options, (model, req, signal) => model.stream(req, signal));
  }

  async complete(request: ChatRequest, options: ChainCallOptions): Promise<{ text: string; model: string }> {
    let text = "";
    let model = "";
    for await (const part of this.run(request, options, (m, req, signal) => once(m.complete(req, signal)))) {
      text += part.delta;
      model = part.model;
    }
    return { text, model };
  }

  /** The smallest context window among the models that report one (the turn trims its history to it). */
  get contextTokens(): number | undefined {
    let min: number | undefined;
    for (const m of this.models) if (m.contextTokens !== undefined && (min === undefined || m.contextTokens < min)) min = m.contextTokens;
    return min;
  }

  health(): ModelHealth[] {
    const now = this.clock.now();
    return this.models.map((m, i) => {
      const s = this.states[i]!;
      const state: BreakerState = s.state === "open" && now >= s.availableAt ? "half_open" : s.state;
      return { model: m.name, state, availableAt: s.availableAt, consecutiveFailures: s.consecutiveFailures };
    });
  }

  private async *run(request: ChatRequest, options: ChainCallOptions, call: Call): AsyncGenerator<ChainDelta> {
    const { signal } = options;
    const deadline = this.clock.now() + (options.deadlineMs ?? this.settings.deadlineMs);
    const timeoutMs = request.timeoutMs ?? this.settings.attemptTimeoutMs;
    const attempts: ChainAttempt[] = [];
    const tries = this.models.map(() => 0);
    // Models this turn will not ask again (a non-retryable failure or out of tries).
    const done = this.models.map(() => false);
    // The last model failure, as the exhausted error's cause (its message may be for the student: not_ready).
    let lastError: LlmError | undefined;

    for (;;) {
      if (signal.aborted) throw new ChainError("aborted", attempts, { cause: signal.reason });
      const now = this.clock.now();
      if (now >= deadline) throw new ChainError("deadline", attempts);

      const pick = this.pick(now, done);
      if (pick.index === undefined) {
        if (pick.wakeAt === undefined && !pick.probeInFlight) throw new ChainError("exhausted", attempts, { cause: lastError });
        // Nobody can be asked before the deadline: say so now rather than make the student wait for nothing.
        if (!pick.probeInFlight && pick.wakeAt !== undefined && pick.wakeAt >= deadline) {
          throw new ChainError("deadline", attempts);
        }
        await this.waitForChange(Math.min(pick.wakeAt ?? deadline, deadline) - now, signal);
        continue;
      }

      const i = pick.index;
      const model = this.models[i]!;
      const st = this.states[i]!;
      tries[i]!++;
      if (tries[i]! >= this.settings.maxAttemptsPerModel) done[i] = true;
      const probe = st.state === "half_open";
      if (probe) st.probing = true;

      const attemptCtl = new AbortController();
      const onAbort = () => attemptCtl.abort(signal.reason);
      signal.addEventListener("abort", onAbort, { once: true });
      // The deadline bounds the search for an answer, not a healthy stream:
      // once the first token is in, the adapter's inactivity timeout guards it.
      const watchdog = new AbortController();
      let deadlineHit = false;
      this.sleep(deadline - now, watchdog.signal).then(
        () => {
          deadlineHit = true;
          attemptCtl.abort();
        },
        () => {},
      );

      let partial = "";
      let finished = false;
      let iterator: AsyncIterator<string> | undefined;
      try {
        iterator = call(model, { ...request, timeoutMs }, attemptCtl.signal)[Symbol.asyncIterator]();
        for (;;) {
          const r = await iterator.next();
          if (r.done) break;
          if (!partial) watchdog.abort(SETTLED);
          partial += r.value;
          yield { delta: r.value, model: model.name };
        }
        finished = true;
        this.recordSuccess(i);
        return;
      } catch (err) {
        finished = true;
        const e = asLlmError(err, model.name);
        const partialOpts = partial ? { partialText: partial, model: model.name } : {};
        if (signal.aborted) {
          attempts.push({ model: model.name, kind: "aborted" });
          throw new ChainError("aborted", attempts, { ...partialOpts, cause: e });
        }
        if (deadlineHit && !partial) {
          attempts.push({ model: model.name, kind: "timeout" });
          throw new ChainError("deadline", attempts, { cause: e });
        }
        attempts.push({
          model: model.name,
          kind: e.kind,
          ...(e.status !== undefined ? { status: e.status } : {}),
          ...(e.kind === "not_ready" ? { message: e.message } : {}),
        });
        lastError = e;
        this.recordFailure(i, e);
        if (partial) throw new ChainError("interrupted", attempts, { ...partialOpts, cause: e });
        if (!e.retryable) done[i] = true;
        this.logger.info(
          { event: "llm_fallback", model: model.name, kind: e.kind, status: e.status, retryAfterMs: e.retryAfterMs },
          "model attempt failed; trying the next one",
        );
      } finally {
        watchdog.abort(SETTLED);
        signal.removeEventListener("abort", onAbort);
        if (!finished) {
          // The consumer stopped early: end the model's request too.
          attemptCtl.abort();
          void iterator?.return?.()?.catch(() => {});
        }
        if (probe) {
          st.probing = false;
          this.wake();
        }
      }
    }
  }

  /** The first model in order that may be asked now, else when the soonest one may. */
  private pick(now: number, done: boolean[]): { index?: number; wakeAt?: number; probeInFlight: boolean } {
    let wakeAt: number | undefined;
    let probeInFlight = false;
    for (let i = 0; i < this.models.length; i++) {
      if (done[i]) continue;
      const st = this.states[i]!;
      if (now < st.availableAt) {
        wakeAt = wakeAt === undefined ? st.availableAt : Math.min(wakeAt, st.availableAt);
        continue;
      }
      if (st.state === "open") st.state = "half_open";
      if (st.state === "half_open" && st.probing) {
        probeInFlight = true;
        continue;
      }
      return { index: i, probeInFlight };
    }
    return wakeAt === undefined ? { probeInFlight } : { wakeAt, probeInFlight };
  }

  private recordSuccess(i: number): void {
    const st = this.states[i]!;
    if (st.state !== "closed") {
      this.logger.info({ event: "llm_breaker_closed", model: this.models[i]!.name }, "model answered again");
    }
    st.state = "closed";
    st.consecutiveFailures = 0;
  }

  private recordFailure(i: number, e: LlmError): void {
    // A 4xx or a prompt too long says the request was wrong, not that the
    // model is unwell; a model still getting ready is not ill either.
    if (e.kind === "client_error" || e.kind === "context_length" || e.kind === "not_ready" || e.kind === "aborted") return;
    const st = this.states[i]!;
    const now = this.clock.now();
    st.consecutiveFailures++;
    if (e.kind === "timeout" || e.kind === "rate_limited" || e.kind === "unavailable") {
      st.availableAt = Math.max(st.availableAt, now + this.backoff(e.kind, st.consecutiveFailures, e.retryAfterMs));
    }
    if (st.state === "half_open" || st.consecutiveFailures >= this.settings.breakerThreshold) {
      if (st.state !== "open") {
        this.logger.warn(
          { event: "llm_breaker_open", model: this.models[i]!.name, failures: st.consecutiveFailures },
          "model skipped for a cooldown",
        );
      }
      st.state = "open";
      st.availableAt = Math.max(st.availableAt, now + this.settings.breakerCooldownMs);
    }
  }

  private backoff(kind: RetryableKind, failures: number, retryAfterMs: number | undefined): number {
    const jitter = this.settings.jitter;
    if (kind === "rate_limited" && retryAfterMs !== undefined) {
      // The server said when; only ever wait longer (spreads the herd).
      return retryAfterMs * (1 + jitter * this.random());
    }
    const schedule = this.settings.retryDelaysMs[kind];
    const base = schedule[Math.min(failures, schedule.length) - 1] ?? 0;
    return base * (1 + jitter * (2 * this.random() - 1));
  }

  /** Sleeps up to `ms`, returning early when a probe ends or the signal aborts. */
  private async waitForChange(ms: number, signal: AbortSignal): Promise<void> {
    const ctl = new AbortController();
    const onAbort = () => ctl.abort();
    signal.addEventListener("abort", onAbort, { once: true });
    let wake!: () => void;
    const changed = new Promise<void>((resolve) => (wake = resolve));
    this.waiters.add(wake);
    try {
      await Promise.race([this.sleep(ms, ctl.signal).catch(() => {}), changed]);
    } finally {
      this.waiters.delete(wake);
      signal.removeEventListener("abort", onAbort);
      ctl.abort(SETTLED);
    }
  }

  private wake(): void {
    for (const w of this.waiters) w();
    this.waiters.clear();
  }
}

async function* once(p: Promise<string>): AsyncGenerator<string> {
  yield await p;
}

function asLlmError(err: unknown, model: string): LlmError {
  if (err instanceof LlmError) return err;
  return new LlmError("bad_response", model, `${model} failed: ${String(err)}`, { cause: err });
}

function validate(s: ModelChainSettings): void {
  const positive = ["attemptTimeoutMs", "deadlineMs", "maxAttemptsPerModel", "breakerThreshold"] as const;
  for (const key of positive) {
    if (!(s[key] > 0)) throw new Error(`ModelChain option ${key} must be a positive number, got ${s[key]}`);
  }
  if (!(s.breakerCooldownMs >= 0)) throw new Error(`ModelChain option breakerCooldownMs must be >= 0`);
  if (!(s.jitter >= 0 && s.jitter < 1)) throw new Error(`ModelChain option jitter must be in [0, 1), got ${s.jitter}`);
  for (const [kind, delays] of Object.entries(s.retryDelaysMs)) {
    if (delays.length === 0 || delays.some((d) => !(d >= 0))) {
      throw new Error(`ModelChain option retryDelaysMs.${kind} must be a non-empty list of delays >= 0`);
    }
  }
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
