// The core's Limiter port over the store's own database (table
// limit_counters, migration 005), so every server instance sharing it counts
// the same budgets and throttles. One conditional upsert per charge: the
// database decides atomically whether a point fits, so parallel requests
// (one process or several) cannot both take the last one.
import { refuses, ruleOn, stateOf, storedKey, systemClock, type Clock, type LimitCharge, type LimitDecision, type LimitRule, type LimitState, type Limiter, type Store } from "@tutor/core";
import { CompiledQuery, type Kysely } from "kysely";
import type { Database, DialectName } from "./db.js";
import { KyselyStore } from "./store.js";

type Db = Kysely<Database>;
interface Row {
  points: number;
  expires_at: number;
}

/** SQL written once with `:name` slots, compiled per dialect (`?` repeated for SQLite, `$n` for PostgreSQL). */
function statement(dialect: DialectName, text: string): (values: Record<string, unknown>) => CompiledQuery<Row> {
  const names: string[] = [];
  let sqlText: string;
  if (dialect === "postgres") {
    sqlText = text.replace(/:([a-z]+)/g, (_, n: string) => {
      if (!names.includes(n)) names.push(n);
      return `$${names.indexOf(n) + 1}`;
    });
  } else {
    sqlText = text.replace(/:([a-z]+)/g, (_, n: string) => {
      names.push(n);
      return "?";
    });
  }
  // Raw and precompiled: the statement text is the same every call, so the
  // SQLite statement cache prepares it once and no query builder runs per turn.
  return (values) => CompiledQuery.raw(sqlText, names.map((n) => values[n])) as CompiledQuery<Row>;
}

function queries(dialect: DialectName) {
  const s = (text: string) => statement(dialect, text);
  return {
    // Inserts a fresh counter, or adds to a live one only if the cost fits
    // (`:limit` < 0: always). No row back = refused.
    take: s(`insert into limit_counters (key, points, expires_at) values (:key, :cost, :expires)
      on conflict (key) do update set
        points = case when limit_counters.expires_at <= :now then excluded.points else limit_counters.points + excluded.points end,
        expires_at = case when limit_counters.expires_at <= :now or :lease = 1 then excluded.expires_at else limit_counters.expires_at end
      where :limit < 0 or limit_counters.expires_at <= :now
        or (limit_counters.points < :limit and limit_counters.points + excluded.points <= :limit)
      returning points, expires_at`),
    release: s(`update limit_counters set points = case when points > :cost then points - :cost else 0 end
      where key = :key and expires_at > :now`),
    get: s(`select points, expires_at from limit_counters where key = :key`),
    reset: s(`delete from limit_counters where key = :key`),
    prune: s(`delete from limit_counters where expires_at <= :now`),
  };
}

/** Thrown inside a transaction to roll back the charges already made. */
class Refused {
  constructor(readonly decision: LimitDecision) {}
}

export class StoreLimiter implements Limiter {
  readonly #q: ReturnType<typeof queries>;
  constructor(
    private readonly db: Db,
    private readonly dialect: DialectName,
    private readonly clock: Clock = systemClock,
  ) {
    this.#q = queries(dialect);
  }

  async take(charges: readonly LimitCharge[]): Promise<LimitDecision> {
    const active = charges.filter((c) => ruleOn(c.rule));
    if (active.length === 0) return { allowed: true, states: charges.map(unlimited) };
    const now = this.clock.now();
    if (active.length === 1) {
      const decision = await this.#charge(this.db, active[0]!, now);
      if (!decision.allowed) return decision;
      return { allowed: true, states: charges.map((c) => (ruleOn(c.rule) ? decision.state : unlimited())) };
    }
    // Several counters: one transaction, in key order (two takes of the same
    // keys cannot deadlock on PostgreSQL's row locks), rolled back on a refusal.
    const order = [...active].sort((a, b) => (storedKey(a.rule, a.key) < storedKey(b.rule, b.key) ? -1 : 1));
    try {
      const states = await this.#atomically(async (tx) => {
        const got = new Map<LimitCharge, LimitState>();
        for (const c of order) {
          const d = await this.#charge(tx, c, now);
          if (!d.allowed) throw new Refused(d);
          got.set(c, d.state);
        }
        return got;
      });
      return { allowed: true, states: charges.map((c) => states.get(c) ?? unlimited()) };
    } catch (err) {
      if (!(err instanceof Refused)) throw err;
      return err.decision;
    }
  }

  /**
   * One transaction. SQLite: BEGIN IMMEDIATE takes the write lock up front —
   * a deferred transaction that reads first and writes later fails at once
   * with SQLITE_BUSY when another process sharing the file did the same.
   */
  async #atomically<T>(work: (db: Db) => Promise<T>): Promise<T> {
    if (this.dialect === "postgres") return this.db.transaction().execute(work);
    return this.db.connection().execute(async (conn) => {
      await conn.executeQuery(CompiledQuery.raw("begin immediate"));
      try {
        const out = await work(conn);
        await conn.executeQuery(CompiledQuery.raw("commit"));
        return out;
      } catch (err) {
        await conn.executeQuery(CompiledQuery.raw("rollback"));
        throw err;
      }
    });
  }

  async add(rule: LimitRule, key: string, cost: number): Promise<LimitState> {
    if (!ruleOn(rule)) return unlimited();
    const now = this.clock.now();
    const { rows } = await this.db.executeQuery(this.#q.take(this.#values(rule, key, cost, now, -1)));
    const row = rows[0]!;
    return stateOf(rule, Number(row.points), Number(row.expires_at), now);
  }

  async release(rule: LimitRule, key: string, cost = 1): Promise<void> {
    if (!ruleOn(rule)) return;
    await this.db.executeQuery(this.#q.release({ key: storedKey(rule, key), cost, now: this.clock.now() }));
  }

  async peek(rule: LimitRule, key: string): Promise<LimitState> {
    const now = this.clock.now();
    const { rows } = await this.db.executeQuery(this.#q.get({ key: storedKey(rule, key) }));
    const row = rows[0];
    return stateOf(rule, row ? Number(row.points) : 0, row ? Number(row.expires_at) : 0, now);
  }

  async reset(rule: LimitRule, key: string): Promise<void> {
    await this.db.executeQuery(this.#q.reset({ key: storedKey(rule, key) }));
  }

  async prune(): Promise<number> {
    const r = await this.db.executeQuery(this.#q.prune({ now: this.clock.now() }));
    return Number(r.numAffectedRows ?? 0);
  }

  async #charge(db: Db, c: LimitCharge, now: number): Promise<{ allowed: true; state: LimitState } | Extract<LimitDecision, { allowed: false }>> {
    const cost = c.cost ?? 1;
    const key = storedKey(c.rule, c.key);
    if (cost === 0 || cost > c.rule.points) {
      // Only a question (cost 0), or a cost that can never fit: read, write nothing.
      const { rows } = await db.executeQuery(this.#q.get({ key }));
      const row = rows[0];
      const state = stateOf(c.rule, row ? Number(row.points) : 0, row ? Number(row.expires_at) : 0, now);
      if (!refuses(c.rule, state.used, cost)) return { allowed: true, state };
      return { allowed: false, rule: c.rule, key: c.key, retryAfterMs: state.resetMs || c.rule.windowMs };
    }
    const { rows } = await db.executeQuery(this.#q.take(this.#values(c.rule, c.key, cost, now, c.rule.points)));
    const row = rows[0];
    if (row) return { allowed: true, state: stateOf(c.rule, Number(row.points), Number(row.expires_at), now) };
    const current = (await db.executeQuery(this.#q.get({ key }))).rows[0];
    const resetMs = current ? Math.max(0, Number(current.expires_at) - now) : 0;
    return { allowed: false, rule: c.rule, key: c.key, retryAfterMs: resetMs || c.rule.windowMs };
  }

  #values(rule: LimitRule, key: string, cost: number, now: number, limit: number) {
    return { key: storedKey(rule, key), cost, expires: now + rule.windowMs, now, lease: rule.kind === "lease" ? 1 : 0, limit };
  }
}

/** Housekeeping: closed windows already count as empty; their rows go every so often. */
export const LIMITER_PRUNE_MS = 10 * 60_000;

/**
 * The Limiter over a store made by createStore (its database and dialect).
 * Prunes closed windows every `pruneEveryMs` (0: never) on an unref'd timer;
 * a prune after the store closed fails quietly and stops the timer.
 */
export function createStoreLimiter(store: Store, clock?: Clock, pruneEveryMs = LIMITER_PRUNE_MS): Limiter {
  if (!(store instanceof KyselyStore)) throw new Error("createStoreLimiter needs a store made by createStore");
  const limiter = new StoreLimiter(store.db, store.dialect, clock);
  if (pruneEveryMs > 0) {
    const timer = setInterval(() => void limiter.prune().catch(() => clearInterval(timer)), pruneEveryMs);
    timer.unref();
  }
  return limiter;
}

function unlimited(): LimitState {
  return { used: 0, remaining: Number.POSITIVE_INFINITY, resetMs: 0 };
}
