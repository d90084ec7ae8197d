// The Limiter port: counters in windows, shared by every carrier and (with the
// store-backed adapter in packages/store) by every server instance. The core
// decides what to count (limits.ts); an adapter only keeps the numbers.
import { systemClock, type Clock } from "../ports.js";

/**
 * One kind of counter. `fixed`: the window opens with the first point and the
 * count starts over when it closes (turns per hour, failed logins). `lease`:
 * every take pushes the window's end out again and `release` gives points
 * back — a count of things running now that a crashed holder cannot keep for
 * longer than one window.
 */
export interface LimitRule {
  /** Distinct per rule: the stored key is `${name}:${key}`. */
  readonly name: string;
  /** At most this many points in a window; 0 turns the rule off (always allowed, nothing counted). */
  readonly points: number;
  readonly windowMs: number;
  readonly kind?: "fixed" | "lease";
}

export interface LimitCharge {
  rule: LimitRule;
  key: string;
  /** Points to take; default 1. 0 only asks whether the counter is below its limit. */
  cost?: number;
}

export interface LimitState {
  used: number;
  /** Points left in this window (never negative). */
  remaining: number;
  /** Milliseconds until the window closes (0 when nothing is counted). */
  resetMs: number;
}

export type LimitDecision =
  | { allowed: true; states: LimitState[] }
  | {
      allowed: false;
      /** The first rule (in the order given) that refused. */
      rule: LimitRule;
      key: string;
      retryAfterMs: number;
    };

/**
 * A charge is refused when its counter is at its limit, or when taking its
 * cost would pass the limit. `take` is all or nothing: when any charge is
 * refused, none is counted — so a turn refused for running twice does not
 * also spend one of the hour's turns.
 */
export interface Limiter {
  take(charges: readonly LimitCharge[]): Promise<LimitDecision>;
  /** Counts `cost` without refusing (usage known only afterwards: tokens). */
  add(rule: LimitRule, key: string, cost: number): Promise<LimitState>;
  /** Gives points back (a lease ends; a login succeeded); never below 0. */
  release(rule: LimitRule, key: string, cost?: number): Promise<void>;
  peek(rule: LimitRule, key: string): Promise<LimitState>;
  /** Forgets the counter. */
  reset(rule: LimitRule, key: string): Promise<void>;
  /** Deletes counters whose window closed (housekeeping; a closed window already counts as empty). */
  prune(): Promise<number>;
}

/** True when the rule counts anything at all (`points: 0` is "no limit"). */
export const ruleOn = (rule: LimitRule): boolean => rule.points > 0;

export const storedKey = (rule: LimitRule, key: string): string => `${rule.name}:${key}`;

/** The refusal rule every adapter applies (see Limiter). */
export function refuses(rule: LimitRule, used: number, cost: number): boolean {
  return used >= rule.points || used + cost > rule.points;
}

export function stateOf(rule: LimitRule, used: number, expiresAt: number, now: number): LimitState {
  const live = expiresAt > now;
  const u = live ? used : 0;
  return { used: u, remaining: Math.max(0, rule.points - u), resetMs: live ? expiresAt - now : 0 };
}

interface Counter {
  points: number;
  expiresAt: number;
}

/**
 * The in-process adapter: one server, or tests. Synchronous inside, so every
 * operation is atomic on the event loop. Same arithmetic as the SQL adapter.
 */
export class MemoryLimiter implements Limiter {
  readonly #counters = new Map<string, Counter>();
  constructor(private readonly clock: Clock = systemClock) {}

  take(charges: readonly LimitCharge[]): Promise<LimitDecision> {
    const now = this.clock.now();
    const active = charges.filter((c) => ruleOn(c.rule));
    for (const c of active) {
      const used = this.#live(storedKey(c.rule, c.key), now)?.points ?? 0;
      if (refuses(c.rule, used, c.cost ?? 1)) {
        const counter = this.#live(storedKey(c.rule, c.key), now);
        return Promise.resolve({ allowed: false, rule: c.rule, key: c.key, retryAfterMs: counter ? counter.expiresAt - now : c.rule.windowMs });
      }
    }
    const states = charges.map((c) => (ruleOn(c.rule) ? this.#bump(c.rule, c.key, c.cost ?? 1, now) : unlimited()));
    return Promise.resolve({ allowed: true, states });
  }

  add(rule: LimitRule, key: string, cost: number): Promise<LimitState> {
    if (!ruleOn(rule)) return Promise.resolve(unlimited());
    return Promise.resolve(this.#bump(rule, key, cost, this.clock.now()));
  }

  release(rule: LimitRule, key: string, cost = 1): Promise<void> {
    const counter = this.#live(storedKey(rule, key), this.clock.now());
    if (counter) counter.points = Math.max(0, counter.points - cost);
    return Promise.resolve();
  }

  peek(rule: LimitRule, key: string): Promise<LimitState> {
    const now = this.clock.now();
    const counter = this.#live(storedKey(rule, key), now);
    return Promise.resolve(stateOf(rule, counter?.points ?? 0, counter?.expiresAt ?? 0, now));
  }

  reset(rule: LimitRule, key: string): Promise<void> {
    this.#counters.delete(storedKey(rule, key));
    return Promise.resolve();
  }

  prune(): Promise<number> {
    const now = this.clock.now();
    let n = 0;
    for (const [k, c] of this.#counters) {
      if (c.expiresAt <= now) {
        this.#counters.delete(k);
        n++;
      }
    }
    return Promise.resolve(n);
  }

  #live(k: string, now: number): Counter | undefined {
    const c = this.#counters.get(k);
    return c && c.expiresAt > now ? c : undefined;
  }

  #bump(rule: LimitRule, key: string, cost: number, now: number): LimitState {
    const k = storedKey(rule, key);
    let c = this.#live(k, now);
    if (!c) {
      c = { points: 0, expiresAt: now + rule.windowMs };
      this.#counters.set(k, c);
    } else if (rule.kind === "lease") {
      c.expiresAt = now + rule.windowMs;
    }
    c.points += cost;
    return stateOf(rule, c.points, c.expiresAt, now);
  }
}

function unlimited(): LimitState {
  return { used: 0, remaining: Number.POSITIVE_INFINITY, resetMs: 0 };
}
