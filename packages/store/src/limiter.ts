// The core's Limiter port over the store's own database (table
// limit_counters, migration 005), so every server instance sharing it counts
// the same budgets and throttles. One conditional upsert per charge: the
// database decides atomically whether a point fits, so parallel requests
// (one process or several) cannot both take the last one.
import { refuses, ruleOn, stateOf, storedKey, systemClock, type Clock, type LimitCharge, type LimitDecision, type LimitRule, type LimitState, type Limiter, type Store } from "@tutor/core";
import type SqliteDatabase from "better-sqlite3";
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

/**
 * The statements, written once with `:name` slots: compiled per dialect for
 * Kysely (PostgreSQL), and bound by name as they are on the SQLite handle.
 */
const SQL = {
  // Inserts a fresh counter, or adds to a live one only if the cost fits
  // (`:limit` < 0: always). No row back = refused.
  take: `insert into limit_counters (key, points, expires_at) values (:key, :cost, :expires)
      on conflict (key) do update set
        points = case when limit_counters.expires_at <= :now then excluded.points else limit_counters.points + excluded.points end,
        expires_at = case when limit_counters.expires_at <= :now or :lease = 1 then excluded.expires_at else limit_counters.expires_at end
      where :limit < 0 or limit_counters.expires_at <= :now
        or (limit_counters.points < :limit and limit_counters.points + excluded.points <= :limit)
      returning points, expires_at`,
  release: `update limit_counters set points = case when points > :cost then points - :cost else 0 end
      where key = :key and expires_at > :now`,
  get: `select points, expires_at from limit_counters where key = :key`,
  reset: `delete from limit_counters where key = :key`,
  prune: `delete from limit_counters where expires_at <= :now`,
} as const;

function queries(dialect: DialectName) {
  const s = (text: string) => statement(dialect, text);
  return { take: s(SQL.take), release: s(SQL.release), get: s(SQL.get), reset: s(SQL.reset), prune: s(SQL.prune) };
}

type Charged = { allowed: true; state: LimitState } | Extract<LimitDecision, { allowed: false }>;

/** What one charge's statements decide (the same on both paths). */
const decide = {
  /** A read only: cost 0 asks, or a cost that can never fit. */
  read(c: LimitCharge, cost: number, row: Row | undefined, now: number): Charged {
    const state = stateOf(c.rule, row ? Number(row.points) : 0, row ? Number(row.expires_at) : 0, now);
    if (!refuses(c.rule, state.used, cost)) return { allowed: true, state };
    return { allowed: false, rule: c.rule, key: c.key, retryAfterMs: state.resetMs || c.rule.windowMs };
  },
  taken(c: LimitCharge, row: Row, now: number): Charged {
    return { allowed: true, state: stateOf(c.rule, Number(row.points), Number(row.expires_at), now) };
  },
  /** The upsert wrote nothing: `current` is the counter that refused. */
  refused(c: LimitCharge, current: Row | undefined, now: number): Charged {
    const resetMs = current ? Math.max(0, Number(current.expires_at) - now) : 0;
    return { allowed: false, rule: c.rule, key: c.key, retryAfterMs: resetMs || c.rule.windowMs };
  },
};

const takeValues = (rule: LimitRule, key: string, cost: number, now: number, limit: number) => ({
  key: storedKey(rule, key),
  cost,
  expires: now + rule.windowMs,
  now,
  lease: rule.kind === "lease" ? 1 : 0,
  limit,
});

/** Charges in stored-key order: two takes of the same keys cannot deadlock on PostgreSQL's row locks. */
function inKeyOrder(active: readonly LimitCharge[]): LimitCharge[] {
  if (active.length < 2) return [...active];
  const keyed = active.map((c) => ({ c, k: storedKey(c.rule, c.key) }));
  keyed.sort((a, b) => (a.k < b.k ? -1 : 1));
  return keyed.map((x) => x.c);
}

function allowed(charges: readonly LimitCharge[], got: Map<LimitCharge, LimitState>): LimitDecision {
  return { allowed: true, states: charges.map((c) => got.get(c) ?? unlimited()) };
}

/** Thrown inside a transaction to roll back the charges already made. */
class Refused {
  constructor(readonly decision: LimitDecision) {}
}

/**
 * SQLite: the same statements on the better-sqlite3 handle, prepared once and
 * run synchronously — a turn's take is one BEGIN IMMEDIATE … COMMIT with no
 * promise between its statements. Used only while no transaction is open on
 * the handle (a store transaction awaits between its statements; ours must
 * not land inside it): `StoreLimiter#sqliteNow` checks that.
 */
class SqliteCounters {
  readonly #s: Record<keyof typeof SQL, SqliteDatabase.Statement>;
  /** BEGIN IMMEDIATE: the write lock up front (busy_timeout applies), not at the first write. */
  readonly #many: (order: LimitCharge[], now: number) => Map<LimitCharge, LimitState>;

  constructor(readonly file: SqliteDatabase.Database) {
    this.#s = {
      take: file.prepare(SQL.take),
      release: file.prepare(SQL.release),
      get: file.prepare(SQL.get),
      reset: file.prepare(SQL.reset),
      prune: file.prepare(SQL.prune),
    };
    const many = file.transaction((order: LimitCharge[], now: number) => {
      const got = new Map<LimitCharge, LimitState>();
      for (const c of order) {
        const d = this.charge(c, now);
        if (!d.allowed) throw new Refused(d);
        got.set(c, d.state);
      }
      return got;
    });
    this.#many = (order, now) => many.immediate(order, now);
  }

  take(charges: readonly LimitCharge[], active: LimitCharge[], now: number): LimitDecision {
    if (active.length === 1) {
      const d = this.charge(active[0]!, now);
      return d.allowed ? allowed(charges, new Map([[active[0]!, d.state]])) : d;
    }
    try {
      return allowed(charges, this.#many(inKeyOrder(active), now));
    } catch (err) {
      if (!(err instanceof Refused)) throw err;
      return err.decision;
    }
  }

  charge(c: LimitCharge, now: number): Charged {
    const cost = c.cost ?? 1;
    const key = storedKey(c.rule, c.key);
    if (cost === 0 || cost > c.rule.points) return decide.read(c, cost, this.#s.get.get({ key }) as Row | undefined, now);
    const row = this.#s.take.get(takeValues(c.rule, c.key, cost, now, c.rule.points)) as Row | undefined;
    return row ? decide.taken(c, row, now) : decide.refused(c, this.#s.get.get({ key }) as Row | undefined, now);
  }

  add(rule: LimitRule, key: string, cost: number, now: number): LimitState {
    const row = this.#s.take.get(takeValues(rule, key, cost, now, -1)) as Row;
    return stateOf(rule, Number(row.points), Number(row.expires_at), now);
  }

  release(rule: LimitRule, key: string, cost: number, now: number): void {
    this.#s.release.run({ key: storedKey(rule, key), cost, now });
  }

  peek(rule: LimitRule, key: string, now: number): LimitState {
    const row = this.#s.get.get({ key: storedKey(rule, key) }) as Row | undefined;
    return stateOf(rule, row ? Number(row.points) : 0, row ? Number(row.expires_at) : 0, now);
  }

  reset(rule: LimitRule, key: string): void {
    this.#s.reset.run({ key: storedKey(rule, key) });
  }

  prune(now: number): number {
    return this.#s.prune.run({ now }).changes;
  }
}

/**
 * The Limiter over the store's database. PostgreSQL: the statements through
 * Kysely, several charges in one transaction. SQLite: SqliteCounters on the
 * better-sqlite3 handle, synchronously — unless a store transaction is open on
 * it, then as soon as Kysely hands the connection over.
 */
export class StoreLimiter implements Limiter {
  readonly #q: ReturnType<typeof queries>;
  readonly #sqlite: SqliteCounters | undefined;
  constructor(
    private readonly db: Db,
    dialect: DialectName,
    private readonly clock: Clock = systemClock,
    /** SQLite: the handle under `db` (Connected.sqlite); required there. */
    sqlite?: SqliteDatabase.Database,
  ) {
    this.#q = queries(dialect);
    if (dialect === "sqlite" && !sqlite) throw new Error("the SQLite limiter needs the better-sqlite3 handle under the store");
    this.#sqlite = dialect === "sqlite" ? new SqliteCounters(sqlite!) : undefined;
  }

  /**
   * Runs `work` on the SQLite handle: at once when no transaction is open on
   * it (Kysely runs each statement synchronously, so between two awaits the
   * handle is idle unless inside a transaction), else once Kysely's
   * connection is free again (the transaction committed or rolled back).
   */
  #sqliteNow<T>(s: SqliteCounters, work: (s: SqliteCounters) => T): Promise<T> {
    if (!s.file.inTransaction) {
      try {
        return Promise.resolve(work(s));
      } catch (err) {
        return Promise.reject(err instanceof Error ? err : new Error(String(err)));
      }
    }
    return this.db.connection().execute(() => Promise.resolve(work(s)));
  }

  take(charges: readonly LimitCharge[]): Promise<LimitDecision> {
    const active = charges.filter((c) => ruleOn(c.rule));
    if (active.length === 0) return Promise.resolve({ allowed: true, states: charges.map(unlimited) });
    const d = this.#sqlite
      ? this.#sqliteNow(this.#sqlite, (s) => s.take(charges, active, this.clock.now()))
      : this.#pgTake(charges, active, this.clock.now());
    return active.length < 2 ? d : d.then((x) => (x.allowed ? x : this.#firstRefusing(active, x)));
  }

  /**
   * Several charges run in stored-key order (no deadlock between two takes),
   * so the first to refuse there may not be the first in the caller's order,
   * which is what the port names (policy.ts orders a turn's charges longest
   * wait first, so a student hears the refusal that matters). After the
   * rollback, the charges before it in the caller's order are read again.
   */
  async #firstRefusing(active: readonly LimitCharge[], refused: Extract<LimitDecision, { allowed: false }>): Promise<LimitDecision> {
    for (const c of active) {
      if (c.rule === refused.rule && c.key === refused.key) return refused;
      const state = await this.peek(c.rule, c.key);
      if (refuses(c.rule, state.used, c.cost ?? 1)) return { allowed: false, rule: c.rule, key: c.key, retryAfterMs: state.resetMs || c.rule.windowMs };
    }
    return refused;
  }

  async #pgTake(charges: readonly LimitCharge[], active: LimitCharge[], now: number): Promise<LimitDecision> {
    if (active.length === 1) {
      const d = await this.#charge(this.db, active[0]!, now);
      return d.allowed ? allowed(charges, new Map([[active[0]!, d.state]])) : d;
    }
    // Several counters: one transaction, in key order, rolled back on a refusal.
    const order = inKeyOrder(active);
    try {
      const got = await this.db.transaction().execute(async (tx) => {
        const states = new Map<LimitCharge, LimitState>();
        for (const c of order) {
          const d = await this.#charge(tx, c, now);
          if (!d.allowed) throw new Refused(d);
          states.set(c, d.state);
        }
        return states;
      });
      return allowed(charges, got);
    } catch (err) {
      if (!(err instanceof Refused)) throw err;
      return err.decision;
    }
  }

  async add(rule: LimitRule, key: string, cost: number): Promise<LimitState> {
    if (!ruleOn(rule)) return unlimited();
    if (this.#sqlite) return this.#sqliteNow(this.#sqlite, (s) => s.add(rule, key, cost, this.clock.now()));
    const now = this.clock.now();
    const { rows } = await this.db.executeQuery(this.#q.take(takeValues(rule, key, cost, now, -1)));
    const row = rows[0]!;
    return stateOf(rule, Number(row.points), Number(row.expires_at), now);
  }

  async release(rule: LimitRule, key: string, cost = 1): Promise<void> {
    if (!ruleOn(rule)) return;
    if (this.#sqlite) return this.#sqliteNow(this.#sqlite, (s) => s.release(rule, key, cost, this.clock.now()));
    await this.db.executeQuery(this.#q.release({ key: storedKey(rule, key), cost, now: this.clock.now() }));
  }

  async peek(rule: LimitRule, key: string): Promise<LimitState> {
    if (this.#sqlite) return this.#sqliteNow(this.#sqlite, (s) => s.peek(rule, key, this.clock.now()));
    const now = this.clock.now();
    const { rows } = await this.db.executeQuery(this.#q.get({ key: storedKey(rule, key) }));
    const row = rows[0];
    return stateOf(rule, row ? Number(row.points) : 0, row ? Number(row.expires_at) : 0, now);
  }

  async reset(rule: LimitRule, key: string): Promise<void> {
    if (this.#sqlite) return this.#sqliteNow(this.#sqlite, (s) => s.reset(rule, key));
    await this.db.executeQuery(this.#q.reset({ key: storedKey(rule, key) }));
  }

  async prune(): Promise<number> {
    if (this.#sqlite) return this.#sqliteNow(this.#sqlite, (s) => s.prune(this.clock.now()));
    const r = await this.db.executeQuery(this.#q.prune({ now: this.clock.now() }));
    return Number(r.numAffectedRows ?? 0);
  }

  async #charge(db: Db, c: LimitCharge, now: number): Promise<Charged> {
    const cost = c.cost ?? 1;
    const key = storedKey(c.rule, c.key);
    if (cost === 0 || cost > c.rule.points) return decide.read(c, cost, (await db.executeQuery(this.#q.get({ key }))).rows[0], now);
    const row = (await db.executeQuery(this.#q.take(takeValues(c.rule, c.key, cost, now, c.rule.points)))).rows[0];
    return row ? decide.taken(c, row, now) : decide.refused(c, (await db.executeQuery(this.#q.get({ key }))).rows[0], now);
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
  const limiter = new StoreLimiter(store.db, store.dialect, clock, store.sqlite);
  if (pruneEveryMs > 0) {
    const timer = setInterval(() => void limiter.prune().catch(() => clearInterval(timer)), pruneEveryMs);
    timer.unref();
  }
  return limiter;
}

function unlimited(): LimitState {
  return { used: 0, remaining: Number.POSITIVE_INFINITY, resetMs: 0 };
}
