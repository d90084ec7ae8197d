// Search in one account with 2,000 conversations / 200,000 messages: the
// store's searchMessages (SQLite FTS5, PostgreSQL tsvector + GIN) against a
// LIKE '%word%' scan of the same messages, newest 20 first, on the same data.
import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { sql, type Kysely } from "kysely";
import { pgAvailable, startPostgres } from "@tutor/testkit";
import type { BenchResult } from "../../../scripts/bench-types.js";
import { openDatabase, type Database, type OpenOptions } from "../src/db.js";
import { KyselyStore } from "../src/store.js";

const CONVERSATIONS = 2_000;
const MESSAGES_PER = 100;
const LIMIT = 20;
const BUDGET_MS = 3_000;

// A computing vocabulary with a long tail: a few words in many messages, most in few.
const COMMON = ["the", "a", "function", "value", "list", "code", "data", "loop", "variable", "return"];
const TAIL = Array.from({ length: 3_000 }, (_, i) => `term${i.toString(36)}`);
const NAMED = ["recursion", "quicksort", "dijkstra", "mutex", "hashmap", "closure", "pointer", "binary", "deadlock", "semaphore"];

function rng(seed: number) {
  return () => ((seed = (seed * 1_103_515_245 + 12_345) >>> 0) / 2 ** 32);
}

async function seed(db: Kysely<Database>, userId: string): Promise<void> {
  const rand = rng(42);
  const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)]!;
  const start = Date.parse("2026-01-01T00:00:00.000Z");
  const at = (n: number) => new Date(start + n * 1000).toISOString();
  await db.transaction().execute(async (tx) => {
    for (let c0 = 0; c0 < CONVERSATIONS; c0 += 50) {
      const convs = [];
      const msgs = [];
      for (let c = c0; c < c0 + 50; c++) {
        const id = randomUUID();
        const ids = Array.from({ length: MESSAGES_PER }, () => randomUUID());
        const first = c * MESSAGES_PER;
        convs.push({ id, user_id: userId, title: `Conversation ${c}`, teaching_mode: "qa" as const, created_at: at(first), updated_at: at(first + MESSAGES_PER - 1), message_count: MESSAGES_PER, last_message_id: ids.at(-1)! });
        for (let m = 0; m < MESSAGES_PER; m++) {
          const words = Array.from({ length: 12 + Math.floor(rand() * 30) }, () => {
            const r = rand();
            return r < 0.5 ? pick(COMMON) : r < 0.52 ? pick(NAMED) : pick(TAIL);
          });
          msgs.push({ id: ids[m]!, conversation_id: id, type: m % 2 ? ("ai" as const) : ("user" as const), content: words.join(" ") + ".", model: m % 2 ? "m" : null, created_at: at(first + m) });
        }
      }
      await tx.insertInto("conversations").values(convs).execute();
      for (let i = 0; i < msgs.length; i += 1_000) await tx.insertInto("messages").values(msgs.slice(i, i + 1_000)).execute();
    }
  });
}

/** The baseline: every message of the user scanned with LIKE, newest first. */
function likeScan(db: Kysely<Database>, userId: string, word: string) {
  return db
    .selectFrom("messages as m")
    .innerJoin("conversations as c", "c.id", "m.conversation_id")
    .select(["m.id", "m.content", "m.created_at", "c.title"])
    .where("c.user_id", "=", userId)
    .where("m.content", "like", `%${word}%`)
    .orderBy("m.created_at", "desc")
    .limit(LIMIT)
    .execute();
}

async function time(fn: () => Promise<unknown>): Promise<{ p50: number; p99: number; n: number }> {
  for (let i = 0; i < 5; i++) await fn();
  const s: number[] = [];
  const until = performance.now() + BUDGET_MS;
  while (s.length < 30 || (performance.now() < until && s.length < 2_000)) {
    const t = performance.now();
    await fn();
    s.push(performance.now() - t);
  }
  s.sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  return { p50: q(0.5), p99: q(0.99), n: s.length };
}

const ms = (x: number) => Number(x.toFixed(2));

async function measure(label: string, options: OpenOptions) {
  const { db, dialect } = await openDatabase(options);
  const store = new KyselyStore(db, dialect);
  try {
    const user = await store.createUser({ username: `bench_${Date.now()}`, email: null, passwordHash: "x" });
    const t0 = performance.now();
    await seed(db, user.id);
    const seedMs = performance.now() - t0;
    if (dialect === "postgres") await sql`vacuum analyze`.execute(db);
    const queries: [string, string, string][] = [
      ["rare word", "term1a", "term1a"],
      ["named topic (~1 in 10 messages)", "dijkstra", "dijkstra"],
      ["common word (most messages)", "function", "function"],
      ["two words, prefix as typed", "quicksort recur", "recur"],
    ];
    const rows: (string | number)[][] = [];
    const load = loadavg()[0]!.toFixed(1);
    for (const [name, q, likeWord] of queries) {
      const hits = await store.searchMessages(user.id, { query: q, limit: LIMIT });
      const fts = await time(() => store.searchMessages(user.id, { query: q, limit: LIMIT }));
      const scan = await time(() => likeScan(db, user.id, likeWord));
      rows.push([label, name, hits.length, ms(fts.p50), ms(fts.p99), ms(scan.p50), ms(scan.p99), Number((scan.p50 / fts.p50).toFixed(0))]);
    }
    return { rows, note: `${label}: seeded ${CONVERSATIONS * MESSAGES_PER} messages in ${(seedMs / 1000).toFixed(1)} s; 1-minute load average when timing began: ${load}` };
  } finally {
    await store.close();
  }
}

export default async function run(): Promise<BenchResult> {
  const dir = await mkdtemp(join(tmpdir(), "tutor-bench-search-"));
  const rows: (string | number)[][] = [];
  const notes = [
    `one user, ${CONVERSATIONS} conversations x ${MESSAGES_PER} messages of 12-42 words (half from 10 common words, 2% from 10 named topics, the rest from a 3,000-word tail); newest ${LIMIT} hits with snippets`,
    "search = the store's searchMessages (words quoted, the last a prefix; SQLite FTS5 walked newest rowid first, PostgreSQL tsvector @@ with GIN or the created_at index as the planner picks); scan = LIKE '%word%' over the same user's messages, newest first, same limit",
  ];
  try {
    const s = await measure("SQLite (file, WAL)", { dataDir: dir });
    rows.push(...s.rows);
    notes.push(s.note);
    if (pgAvailable()) {
      const pg = await startPostgres();
      try {
        const p = await measure("PostgreSQL (loopback)", { databaseUrl: pg.url, dataDir: dir });
        rows.push(...p.rows);
        notes.push(p.note);
      } finally {
        await pg.stop();
      }
    } else {
      notes.push("PostgreSQL not available on this machine: its rows were not measured");
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return {
    title: "Search (2,000 conversations / 200,000 messages)",
    columns: ["store", "query", "hits", "search p50 ms", "search p99 ms", "LIKE scan p50 ms", "LIKE scan p99 ms", "scan / search (p50)"],
    rows,
    notes,
  };
}
