// The Limiter contract, on the in-process adapter and on the store-backed one
// over a real SQLite file and a real PostgreSQL cluster. Time is a test clock.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MemoryLimiter, type LimitRule, type Limiter, type Store } from "@tutor/core";
import { pgAvailable, startPostgres, type PgHandle } from "@tutor/testkit";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createStore, createStoreLimiter } from "./index.js";
import type { KyselyStore } from "./store.js";

const requirePg = process.env.REQUIRE_SERVICES === "1";
if (requirePg && !pgAvailable()) throw new Error("REQUIRE_SERVICES=1 but PostgreSQL is not available");

let t = 1_900_000_000_000;
const clock = { now: () => t };

interface Backend {
  /** Two limiters over the same counters (two server instances). */
  pair(): Promise<[Limiter, Limiter]>;
  cleanup(): Promise<void>;
}

const backends: { name: string; run: boolean; make: () => Promise<Backend> }[] = [
  {
    name: "memory",
    run: true,
    make: async () => {
      return {
        pair: async () => {
          const one = new MemoryLimiter(clock);
          return [one, one];
        },
        cleanup: async () => {},
      };
    },
  },
  {
    name: "sqlite",
    run: true,
    make: async () => {
      const dir = await mkdtemp(join(tmpdir(), "tutor-limiter-"));
      const stores: Store[] = [];
      return {
        // One process owns a SQLite file (several instances share PostgreSQL):
        // two limiters over one store, as two carriers of one server.
        pair: async () => {
          const a = await createStore({ dataDir: dir });
          stores.push(a);
          return [createStoreLimiter(a, clock), createStoreLimiter(a, clock)];
        },
        cleanup: async () => {
          for (const s of stores) await s.close();
          await rm(dir, { recursive: true, force: true });
        },
      };
    },
  },
  {
    name: "postgres",
    run: pgAvailable() || requirePg,
    make: async () => {
      const pg: PgHandle = await startPostgres();
      const dir = await mkdtemp(join(tmpdir(), "tutor-limiter-pg-"));
      const stores: Store[] = [];
      return {
        pair: async () => {
          const a = await createStore({ databaseUrl: pg.url, dataDir: dir });
          const b = await createStore({ databaseUrl: pg.url, dataDir: dir });
          stores.push(a, b);
          return [createStoreLimiter(a, clock), createStoreLimiter(b, clock)];
        },
        cleanup: async () => {
          for (const s of stores) await s.close();
          await pg.stop();
          await rm(dir, { recursive: true, force: true });
        },
      };
    },
  },
];

let n = 0;
const rule = (points: number, windowMs = 60_000, kind?: "lease"): LimitRule => ({ name: `r${n++}`, points, windowMs, ...(kind ? { kind } : {}) });

for (const { name, run, make } of backends) {
  describe.skipIf(!run)(`limiter on ${name}`, () => {
    let backend: Backend;
    let a: Limiter;
    let b: Limiter;
    beforeAll(async () => {
      backend = await make();
      [a, b] = await backend.pair();
    });
    afterAll(async () => backend?.cleanup());
    beforeEach(() => {
      t += 10 * 24 * 3600_000; // every test starts long after the previous one's windows
    });

    it("allows up to the limit, then refuses until the window closes, and says when", async () => {
      const r = rule(3, 60_000);
      for (let i = 0; i < 3; i++) expect((await a.take([{ rule: r, key: "u" }])).allowed).toBe(true);
      t += 20_000;
      const refused = await a.take([{ rule: r, key: "u" }]);
      expect(refused).toMatchObject({ allowed: false, key: "u", retryAfterMs: 40_000 });
      expect(refused.allowed === false && refused.rule).toBe(r);
      expect(await a.peek(r, "u")).toEqual({ used: 3, remaining: 0, resetMs: 40_000 });
      expect((await a.take([{ rule: r, key: "other" }])).allowed).toBe(true);
      t += 40_000;
      expect(await a.take([{ rule: r, key: "u" }])).toMatchObject({ allowed: true, states: [{ used: 1, remaining: 2, resetMs: 60_000 }] });
    });

    it("counts the same numbers on another instance sharing the storage", async () => {
      const r = rule(2);
      expect((await a.take([{ rule: r, key: "u" }])).allowed).toBe(true);
      expect((await b.take([{ rule: r, key: "u" }])).allowed).toBe(true);
      expect((await a.take([{ rule: r, key: "u" }])).allowed).toBe(false);
      expect((await b.take([{ rule: r, key: "u" }])).allowed).toBe(false);
    });

    it("lets exactly the limit through when many take at once from two instances", async () => {
      const r = rule(5);
      const results = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).take([{ rule: r, key: "race" }])));
      expect(results.filter((d) => d.allowed)).toHaveLength(5);
      expect((await a.peek(r, "race")).used).toBe(5);
    });

    it("takes several counters all or nothing", async () => {
      const wide = rule(10);
      const narrow = rule(1);
      expect((await a.take([{ rule: wide, key: "u" }, { rule: narrow, key: "u" }])).allowed).toBe(true);
      const refused = await a.take([{ rule: wide, key: "u" }, { rule: narrow, key: "u" }]);
      expect(refused.allowed === false && refused.rule).toBe(narrow);
      // The refused take did not spend a point of the wide counter.
      expect((await a.peek(wide, "u")).used).toBe(1);
    });

    it("names the first refusing counter in the order given, whatever order the counters are stored in", async () => {
      const hour = { ...rule(1), name: "zz_hour" };
      const slot = { ...rule(1), name: "aa_slot" };
      expect((await a.take([{ rule: hour, key: "u" }, { rule: slot, key: "u" }])).allowed).toBe(true);
      // Both refuse now; the hour's counter comes first as asked (stored after the slot's).
      const refused = await a.take([{ rule: hour, key: "u" }, { rule: slot, key: "u" }]);
      expect(refused.allowed === false && refused.rule).toBe(hour);
      const other = await a.take([{ rule: slot, key: "u" }, { rule: hour, key: "u" }]);
      expect(other.allowed === false && other.rule).toBe(slot);
    });

    it("keeps all-or-nothing under parallel multi-counter takes", async () => {
      const wide = rule(100);
      const narrow = rule(3);
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).take([{ rule: wide, key: "p" }, { rule: narrow, key: "p" }])),
      );
      expect(results.filter((d) => d.allowed)).toHaveLength(3);
      expect((await a.peek(wide, "p")).used).toBe(3);
    });

    it("with cost 0 only asks whether the counter is below its limit", async () => {
      const r = rule(10);
      expect(await a.take([{ rule: r, key: "u", cost: 0 }])).toMatchObject({ allowed: true, states: [{ used: 0, remaining: 10 }] });
      expect(await a.peek(r, "u")).toMatchObject({ used: 0 });
      await a.add(r, "u", 10);
      expect((await a.take([{ rule: r, key: "u", cost: 0 }])).allowed).toBe(false);
    });

    it("adds past the limit without refusing (usage known afterwards)", async () => {
      const r = rule(100);
      expect(await a.add(r, "u", 70)).toMatchObject({ used: 70, remaining: 30 });
      expect(await a.add(r, "u", 70)).toMatchObject({ used: 140, remaining: 0 });
    });

    it("refuses a cost that can never fit", async () => {
      const r = rule(5);
      expect((await a.take([{ rule: r, key: "u", cost: 6 }])).allowed).toBe(false);
      expect((await a.take([{ rule: r, key: "u", cost: 5 }])).allowed).toBe(true);
    });

    it("leases: release gives back (never below 0), takes push the end out, a lapsed lease frees the slot", async () => {
      const r = rule(2, 60_000, "lease");
      expect((await a.take([{ rule: r, key: "u" }])).allowed).toBe(true);
      t += 50_000;
      expect((await a.take([{ rule: r, key: "u" }])).allowed).toBe(true);
      expect((await a.take([{ rule: r, key: "u" }])).allowed).toBe(false);
      t += 50_000; // 100 s after the first take: the second take pushed the end out
      expect((await a.take([{ rule: r, key: "u" }])).allowed).toBe(false);
      await a.release(r, "u");
      expect((await a.take([{ rule: r, key: "u" }])).allowed).toBe(true);
      await a.release(r, "u");
      await a.release(r, "u");
      await a.release(r, "u");
      expect((await a.peek(r, "u")).used).toBe(0);
      await a.take([{ rule: r, key: "u" }]);
      await a.take([{ rule: r, key: "u" }]);
      t += 60_000; // a crashed holder never releases: the lease lapses
      expect((await a.take([{ rule: r, key: "u" }])).allowed).toBe(true);
    });

    it("treats points 0 as no limit and stores nothing", async () => {
      const off = rule(0);
      for (let i = 0; i < 5; i++) expect((await a.take([{ rule: off, key: "u" }])).allowed).toBe(true);
      expect(await a.add(off, "u", 1000)).toMatchObject({ remaining: Number.POSITIVE_INFINITY });
      expect((await a.peek(off, "u")).used).toBe(0);
    });

    it("resets a counter and prunes closed windows", async () => {
      const r = rule(1, 1_000);
      await a.take([{ rule: r, key: "x" }]);
      await a.reset(r, "x");
      expect((await a.take([{ rule: r, key: "x" }])).allowed).toBe(true);
      await a.take([{ rule: r, key: "y" }]);
      t += 1_000;
      expect(await a.prune()).toBeGreaterThanOrEqual(2);
      expect(await a.prune()).toBe(0);
    });
  });
}

// SQLite runs the counters synchronously on the store's own connection; a
// store transaction awaits between its statements, and a count made meanwhile
// must not become part of it (a failed message insert must not undo a turn's count).
describe("limiter on sqlite beside a store transaction", () => {
  it("counts made while a store transaction is open survive its rollback", async () => {
    const dir = await mkdtemp(join(tmpdir(), "tutor-limiter-tx-"));
    const store = await createStore({ dataDir: dir });
    try {
      const limiter = createStoreLimiter(store, clock, 0);
      const [one, lease, tokens] = [rule(5), rule(2, 60_000, "lease"), rule(1000)];
      const pending: Promise<unknown>[] = [];
      const db = (store as KyselyStore).db;
      await expect(
        db.transaction().execute(async (tx) => {
          await tx.insertInto("login_failures").values({ key: "k", at: new Date().toISOString() }).execute();
          pending.push(limiter.take([{ rule: one, key: "u" }]), limiter.take([{ rule: tokens, key: "u", cost: 0 }, { rule: lease, key: "u#0" }]), limiter.add(tokens, "u", 40));
          await tx.selectFrom("users").select("id").execute();
          throw new Error("the store's write failed");
        }),
      ).rejects.toThrow("the store's write failed");
      const [single, several] = (await Promise.all(pending)) as { allowed: boolean }[];
      expect(single!.allowed && several!.allowed).toBe(true);
      expect((await limiter.peek(one, "u")).used).toBe(1);
      expect((await limiter.peek(lease, "u#0")).used).toBe(1);
      expect((await limiter.peek(tokens, "u")).used).toBe(40);
      expect(await db.selectFrom("login_failures").select("key").execute()).toEqual([]);
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
