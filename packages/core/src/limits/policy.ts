// What the tutor limits, and how a refusal reads (PROTOCOL.md "Access and
// limits"). Every carrier reaches these through the core (TurnRunner,
// AuthService), never per transport; the numbers live in a Limiter, so with
// the store-backed adapter they hold across server instances.
import type { Budget } from "@tutor/protocol";
import { AuthError, RateLimitedError } from "../errors.js";
import { silentLogger, type Logger } from "../ports.js";
import { storedKey, type LimitCharge, type LimitDecision, type LimitRule, type LimitState, type Limiter } from "./limiter.js";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** Every default in one place (LIMIT_* environment variables override the first two). */
export const LIMIT_DEFAULTS = {
  /** LIMIT_TURNS_PER_HOUR; 0 = no limit. Voice utterances count as turns. */
  turnsPerHour: 120,
  /** LIMIT_TOKENS_PER_DAY (prompt + completion, as the model reports them); 0 = no limit. */
  tokensPerDay: 1_000_000,
  /** Turns of one user running at once, over every connection and carrier. */
  turnsRunning: 2,
  /**
   * A running turn's slot is a lease of its own, renewed every third of this
   * while the turn runs and given back when it ends: the slots of a server
   * that crashed (kill -9, power loss) lapse after this, whatever the
   * student's other turns do meanwhile.
   */
  turnLeaseMs: MINUTE,
  /** How soon to try again when both running slots are taken (answers take seconds). */
  turnsRunningRetryMs: 5_000,
  /** Failed sign-ins, counted before the password is checked. */
  loginWindowMs: 15 * MINUTE,
  /** Per account and address (as before, now exact). */
  failedLoginsPerAccountAddress: 5,
  /** Per account from every address: slows distributed guessing; a lockout ends with the window. */
  failedLoginsPerAccount: 20,
  /** Per address over every account: stops password spraying, yet leaves room for a class behind one NAT. */
  failedLoginsPerAddress: 100,
  /** Registrations per address per hour: generous, a class registers together behind one NAT. */
  registrationsPerAddressPerHour: 300,
  /** A provider that reports no usage: tokens estimated as characters / this. */
  charsPerToken: 4,
} as const;

export type LimitSettings = { -readonly [K in keyof typeof LIMIT_DEFAULTS]: number };

export function limitRules(s: LimitSettings) {
  return {
    tokensPerDay: { name: "tokens_day", points: s.tokensPerDay, windowMs: DAY },
    turnsPerHour: { name: "turns_hour", points: s.turnsPerHour, windowMs: HOUR },
    /** How many slots there are (never charged itself: each slot is a `turnSlot` counter, key `${userId}#${n}`). */
    turnsRunning: { name: "turns_running", points: s.turnsRunning, windowMs: s.turnLeaseMs, kind: "lease" },
    turnSlot: { name: "turn_slot", points: 1, windowMs: s.turnLeaseMs, kind: "lease" },
    failedLoginsAccountAddress: { name: "login_fail_acct_addr", points: s.failedLoginsPerAccountAddress, windowMs: s.loginWindowMs },
    failedLoginsAccount: { name: "login_fail_acct", points: s.failedLoginsPerAccount, windowMs: s.loginWindowMs },
    failedLoginsAddress: { name: "login_fail_addr", points: s.failedLoginsPerAddress, windowMs: s.loginWindowMs },
    registrations: { name: "register_addr", points: s.registrationsPerAddressPerHour, windowMs: HOUR },
  } satisfies Record<string, LimitRule>;
}

/**
 * The counters that belong to one account, for deleting them with it: those
 * keyed by the user's id (budgets, running slots `<id>#<n>`) and by the account
 * name (failed sign-ins, alone and `<account>|<address>`). Counters keyed by an
 * address alone belong to the network, not the account, and stay.
 */
export function accountCounterKeys(userId: string, username: string): { exact: string[]; prefixes: string[] } {
  const r = limitRules(LIMIT_DEFAULTS);
  const account = username.toLowerCase();
  return {
    exact: [storedKey(r.tokensPerDay, userId), storedKey(r.turnsPerHour, userId), storedKey(r.turnsRunning, userId), storedKey(r.failedLoginsAccount, account)],
    prefixes: [storedKey(r.turnSlot, `${userId}#`), storedKey(r.failedLoginsAccountAddress, `${account}|`)],
  };
}

export type TokenUsage = { promptTokens: number; completionTokens: number };

/**
 * The cost of one model call: its reported usage, or (when the provider
 * reports none) its characters, estimated as tokens. A caller reports one of
 * the two per call.
 */
export interface UsageMeter {
  usage(u: TokenUsage): void;
  characters(promptChars: number, completionChars: number): void;
}

export const NO_METER: UsageMeter = { usage() {}, characters() {} };

/** One admitted turn: holds a running slot until `end`, and counts the turn's tokens then. */
export interface TurnPermit {
  /**
   * A meter for one of the turn's other model calls (the topic check's tier 2,
   * the title): the student's cost too. Counted with the turn while it runs,
   * added to the day's budget at once after it ended (a title comes later).
   */
  sideCall(): UsageMeter;
  /** The model's reported usage (ChatRequest.onUsage); wins over the estimate. */
  usage(u: TokenUsage): void;
  /** Characters sent to and received from the model, for the estimate when none is reported. */
  characters(promptChars: number, completionChars: number): void;
  /** What is left after this turn (undefined when no budget is on). */
  budget(): Budget | undefined;
  /**
   * Counts the turn's tokens in the day's budget now, before its final
   * message goes out: a question asked at once in another tab, or through
   * another instance, sees them. Calls counted after this one count at once.
   * Never throws; idempotent.
   */
  settle(): Promise<void>;
  /** Frees the running slot and counts the tokens (settle) if not done yet. Never throws; idempotent. */
  end(): Promise<void>;
}

/** For a runner with no limits at all. */
export const UNLIMITED_PERMIT: TurnPermit = {
  sideCall: () => NO_METER,
  usage() {},
  characters() {},
  budget: () => undefined,
  settle: () => Promise.resolve(),
  end: () => Promise.resolve(),
};

/** A successful sign-in gives its counted attempt back. */
export interface LoginAttempt {
  succeeded(): Promise<void>;
}

export class Limits {
  readonly settings: LimitSettings;
  readonly rules: ReturnType<typeof limitRules>;
  /** Keeps the running slots of this process's turns (the permits') alive. */
  readonly renewal: SlotRenewal;
  readonly #log: Logger;

  constructor(
    readonly limiter: Limiter,
    settings: Partial<LimitSettings> = {},
    logger: Logger = silentLogger,
  ) {
    this.settings = { ...LIMIT_DEFAULTS, ...settings };
    this.rules = limitRules(this.settings);
    this.#log = logger;
    this.renewal = new SlotRenewal(limiter, this.rules.turnSlot, logger);
  }

  /**
   * Takes a running slot and one of the hour's turns, if the day's tokens are
   * not spent; else RateLimitedError. Slots are separate leases (not one
   * count per user) so that a slot whose holder died lapses on its own even
   * while the student's other turns keep theirs alive.
   */
  async admitTurn(userId: string): Promise<TurnPermit> {
    const r = this.rules;
    // Longest wait first: when several refuse, the student hears the one that matters.
    const budget: LimitCharge[] = [
      { rule: r.tokensPerDay, key: userId, cost: 0 },
      { rule: r.turnsPerHour, key: userId },
    ];
    const slots = r.turnsRunning.points;
    if (slots <= 0) {
      const d = await this.limiter.take(budget);
      if (!d.allowed) throw this.#turnRefusal(d);
      return new Permit(this, userId, d.states[0]!, d.states[1]!, this.#log, undefined);
    }
    let soonest = Number.POSITIVE_INFINITY;
    for (let n = 0; n < slots; n++) {
      const slot = `${userId}#${n}`;
      const d = await this.limiter.take([...budget, { rule: r.turnSlot, key: slot }]);
      if (d.allowed) {
        this.renewal.hold(slot);
        return new Permit(this, userId, d.states[0]!, d.states[1]!, this.#log, slot);
      }
      if (d.rule !== r.turnSlot) throw this.#turnRefusal(d);
      soonest = Math.min(soonest, d.retryAfterMs);
    }
    throw this.#turnRefusal({ allowed: false, rule: r.turnsRunning, key: userId, retryAfterMs: soonest });
  }

  /**
   * Counts a sign-in attempt as failed BEFORE the password is checked, so
   * parallel guesses cannot all slip under the count; a success gives it back.
   */
  async beginLogin(username: string, address: string): Promise<LoginAttempt> {
    const r = this.rules;
    const account = username.toLowerCase();
    const d = await this.limiter.take([
      { rule: r.failedLoginsAccountAddress, key: `${account}|${address}` },
      { rule: r.failedLoginsAccount, key: account },
      { rule: r.failedLoginsAddress, key: address },
    ]);
    if (!d.allowed) {
      this.#log.warn({ event: "login_throttled", address, rule: d.rule.name }, "login throttled");
      const which = d.rule === r.failedLoginsAddress ? "from your network" : "for this account";
      throw new AuthError(
        "login",
        "rate_limited",
        `too many failed sign-in attempts ${which}; try again in ${waitText(d.retryAfterMs)}`,
        Math.max(1, Math.ceil(d.retryAfterMs / 1000)),
        "failed_logins",
      );
    }
    return {
      succeeded: async () => {
        await this.limiter.reset(r.failedLoginsAccountAddress, `${account}|${address}`);
        await this.limiter.release(r.failedLoginsAccount, account);
        await this.limiter.release(r.failedLoginsAddress, address);
      },
    };
  }

  /** One registration from `address`; counted before the password is hashed. */
  async admitRegistration(address: string): Promise<void> {
    const d = await this.limiter.take([{ rule: this.rules.registrations, key: address }]);
    if (d.allowed) return;
    this.#log.warn({ event: "registration_throttled", address }, "registrations throttled");
    throw new AuthError(
      "register",
      "rate_limited",
      `too many new accounts from your network this hour; try again in ${waitText(d.retryAfterMs)}`,
      Math.max(1, Math.ceil(d.retryAfterMs / 1000)),
      "registrations",
    );
  }

  #turnRefusal(d: Extract<LimitDecision, { allowed: false }>): RateLimitedError {
    const r = this.rules;
    if (d.rule === r.turnsRunning) {
      return new RateLimitedError(
        "turns_running",
        `${r.turnsRunning.points} answers are already being written for you (another tab or device); wait for one to finish`,
        this.settings.turnsRunningRetryMs,
      );
    }
    if (d.rule === r.turnsPerHour) {
      return new RateLimitedError(
        "turns_per_hour",
        `you have asked ${r.turnsPerHour.points} questions this hour, the most allowed; you can ask again in ${waitText(d.retryAfterMs)}`,
        d.retryAfterMs,
      );
    }
    return new RateLimitedError(
      "tokens_per_day",
      `you have used today's budget of the tutor's model; it refills in ${waitText(d.retryAfterMs)}`,
      d.retryAfterMs,
    );
  }
}

class Permit implements TurnPermit {
  #reported: number | undefined;
  #estimated = 0;
  /** Tokens of the turn's other model calls (sideCall), reported or estimated each. */
  #side = 0;
  #settled: Promise<void> | undefined;
  #ended: Promise<void> | undefined;

  constructor(
    private readonly limits: Limits,
    private readonly userId: string,
    private readonly tokensBefore: LimitState,
    private readonly turns: LimitState,
    private readonly log: Logger,
    /** The running slot held (undefined: no running limit); renewed by the Limits' SlotRenewal until `end`. */
    private readonly slot: string | undefined,
  ) {}

  usage(u: TokenUsage): void {
    this.#reported = (this.#reported ?? 0) + reportedTokens(u);
  }

  characters(promptChars: number, completionChars: number): void {
    this.#estimated += this.#estimate(promptChars, completionChars);
  }

  sideCall(): UsageMeter {
    const count = (n: number) => {
      if (n <= 0) return;
      if (!this.#settled) {
        this.#side += n;
        return;
      }
      const { limiter, rules } = this.limits;
      limiter.add(rules.tokensPerDay, this.userId, n).catch((err: unknown) => {
        this.log.error({ event: "limit_update_failed", err: String(err) }, "could not count a model call in the user's budget");
      });
    };
    return {
      usage: (u) => count(reportedTokens(u)),
      characters: (promptChars, completionChars) => count(this.#estimate(promptChars, completionChars)),
    };
  }

  #estimate(promptChars: number, completionChars: number): number {
    return Math.ceil((Math.max(0, promptChars) + Math.max(0, completionChars)) / this.limits.settings.charsPerToken);
  }

  get tokens(): number {
    return (this.#reported ?? this.#estimated) + this.#side;
  }

  budget(): Budget | undefined {
    const r = this.limits.rules;
    const turnsOn = r.turnsPerHour.points > 0;
    const tokensOn = r.tokensPerDay.points > 0;
    if (!turnsOn && !tokensOn) return undefined;
    const secs = (ms: number) => Math.ceil(ms / 1000);
    return {
      turns_left: turnsOn ? this.turns.remaining : null,
      turns_reset_s: turnsOn ? secs(this.turns.resetMs || r.turnsPerHour.windowMs) : null,
      tokens_left: tokensOn ? Math.max(0, this.tokensBefore.remaining - this.tokens) : null,
      tokens_reset_s: tokensOn ? secs(this.tokensBefore.resetMs || r.tokensPerDay.windowMs) : null,
    };
  }

  settle(): Promise<void> {
    this.#settled ??= (async () => {
      const tokens = this.tokens;
      if (tokens <= 0) return;
      try {
        await this.limits.limiter.add(this.limits.rules.tokensPerDay, this.userId, tokens);
      } catch (err) {
        // The answer is stored; a lost count must not turn it into a failure.
        this.log.error({ event: "limit_update_failed", err: String(err) }, "could not count a turn's tokens in the user's budget");
      }
    })();
    return this.#settled;
  }

  end(): Promise<void> {
    this.#ended ??= (async () => {
      if (this.slot !== undefined) this.limits.renewal.drop(this.slot);
      await this.settle();
      if (this.slot === undefined) return;
      try {
        await this.limits.limiter.release(this.limits.rules.turnSlot, this.slot);
      } catch (err) {
        // The slot lapses with its lease; the answer is already out and stored.
        this.log.error({ event: "limit_update_failed", err: String(err) }, "could not free a running turn's slot");
      }
    })();
    return this.#ended;
  }
}

/**
 * One timer for every running slot this process holds, not one per turn: a
 * long answer's slot is renewed every third of the lease while its turn runs
 * (the first renewal at most a third of the lease after the take), so it
 * never lapses under a running turn. The timer runs while any slot is held.
 */
export class SlotRenewal {
  /** Slot key → permits holding it (one, unless a slot lapsed under a turn whose renewals failed and was taken again). */
  readonly #held = new Map<string, number>();
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly limiter: Limiter,
    private readonly rule: LimitRule,
    private readonly log: Logger,
  ) {}

  /** Renews `slot` (a `turnSlot` key) from now until `drop`. */
  hold(slot: string): void {
    this.#held.set(slot, (this.#held.get(slot) ?? 0) + 1);
    if (this.#timer) return;
    this.#timer = setInterval(() => this.#renewAll(), Math.max(1, Math.floor(this.rule.windowMs / 3)));
    this.#timer.unref?.();
  }

  drop(slot: string): void {
    const n = this.#held.get(slot) ?? 0;
    if (n > 1) this.#held.set(slot, n - 1);
    else this.#held.delete(slot);
  }

  #renewAll(): void {
    // Stopped on a tick with nothing held, not at every drop: at a class's pace slots come and go all the time.
    if (this.#held.size === 0) {
      clearInterval(this.#timer);
      this.#timer = undefined;
      return;
    }
    for (const slot of this.#held.keys()) {
      this.limiter.add(this.rule, slot, 0).catch((err: unknown) => {
        this.log.warn({ event: "turn_slot_renew_failed", err: String(err) }, "could not renew a running turn's slot");
      });
    }
  }
}

function reportedTokens(u: TokenUsage): number {
  return Math.max(0, Math.round(u.promptTokens) || 0) + Math.max(0, Math.round(u.completionTokens) || 0);
}

/** "3 minutes", "2 h 5 min", "40 seconds". */
export function waitText(ms: number): string {
  const s = Math.max(1, Math.ceil(ms / 1000));
  if (s < 60) return `${s} second${s === 1 ? "" : "s"}`;
  const m = Math.ceil(s / 60);
  if (m < 60) return `${m} minute${m === 1 ? "" : "s"}`;
  const h = Math.floor(m / 60);
  const rest = m % 60;
  return rest ? `${h} h ${rest} min` : `${h} hour${h === 1 ? "" : "s"}`;
}
