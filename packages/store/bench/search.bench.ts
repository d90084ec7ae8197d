// Search in one account with 2,000 conversations / 200,000 messages: the
// store's searchMessages (SQLite FTS5, PostgreSQL tsvector + GIN) against a
// LIKE '%word%' scan of the same messages, newest 20 first, on the same data.
// One row per kind of query, from a word in a handful of messages (last
// month's lesson on one topic) to a word in most of them.
import { loadavg } from "node:os";
import { sql, type Kysely } from "kysely";
import { seededRandom } from "@tutor/testkit";
import type { BenchResult } from "../../../scripts/bench-types.js";
import { onEachStore, seedAccount } from "./bench-data.js";
import { openDatabase, type Database, type OpenOptions } from "../src/db.js";
import { KyselyStore } from "../src/store.js";

export const CONVERSATIONS = 2_000;
const MESSAGES_PER = 100;
const TOTAL = CONVERSATIONS * MESSAGES_PER;
const LIMIT = 20;
const BUDGET_MS = 2_000;
const WARM_RUNS = 1_000;

// A computing vocabulary with a long tail: a few words in many messages, most in few.
const COMMON = ["the", "a", "function", "value", "list", "code", "data", "loop", "variable", "return"];
// term0 … term2bb (base 36): "term1zz" has no longer word starting with it, so its prefix search finds only itself.
const TAIL = Array.from({ length: 3_000 }, (_, i) => `term${i.toString(36)}`);
const NAMED = ["recursion", "quicksort", "dijkstra", "mutex", "hashmap", "closure", "pointer", "binary", "deadlock", "semaphore"];
/** The genuinely rare word: one lesson about a month before the newest conversation, and two old mentions. */
const RARE = "memoization";
const RARE_AT: [conversation: number, message: number][] = [
  [CONVERSATIONS - 180, 10],
  [CONVERSATIONS - 180, 11],
  [CONVERSATIONS - 180, 14],
  [CONVERSATIONS - 180, 21],
  [1_200, 40],
  [300, 7],
];

/** One conversation every 4 hours (the account spans 11 months), one message every 30 s within it; words from a seeded generator. */
export function seed(db: Kysely<Database>, userId: string): Promise<void> {
  const rand = seededRandom(42);
  const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)]!;
  const start = Date.parse("2026-01-01T00:00:00.000Z");
  const at = (c: number, m: number) => new Date(start + c * 4 * 3_600_000 + m * 30_000).toISOString();
  const rare = new Set(RARE_AT.map(([c, m]) => `${c}/${m}`));
  return seedAccount(db, userId, {
    conversations: CONVERSATIONS,
    messagesPer: MESSAGES_PER,
    conversation: (c) => ({ title: `Conversation ${c}`, teaching_mode: "qa", created_at: at(c, 0), updated_at: at(c, MESSAGES_PER - 1) }),
    message: (c, m) => {
      const words = Array.from({ length: 12 + Math.floor(rand() * 30) }, () => {
        const r = rand();
        return r < 0.5 ? pick(COMMON) : r < 0.52 ? pick(NAMED) : pick(TAIL);
      });
      if (rare.has(`${c}/${m}`)) words.splice(Math.floor(words.length / 2), 0, RARE);
      return { type: m % 2 ? "ai" : "user", content: words.join(" ") + ".", model: m % 2 ? "m" : null, created_at: at(c, m) };
    },
  });
}

/** [row label, what the student types, the words the LIKE baseline looks for (all of them)]. */
export const QUERIES: [string, string, string[]][] = [
  ["rare word (one lesson last month + 2 old mentions)", RARE, [RARE]],
  ["word in no message (a typo)", "dijkstar", ["dijkstar"]],
  ["tail word (~1 in 250 messages)", "term1zz", ["term1zz"]],
  ["named topic (~1 in 20 messages)", "dijkstra", ["dijkstra"]],
  ["common word (most messages)", "function", ["function"]],
  ["two words, the last a prefix as typed", "quicksort recur", ["quicksort", "recur"]],
];

/**
 * The baseline: the user's messages scanned with LIKE for every word, newest
 * first, in the best plan each database has for it: PostgreSQL walks
 * `messages(created_at, id)` backwards, SQLite walks messages by rowid
 * backwards (CROSS JOIN keeps messages the outer loop; rowid order is
 * insertion order), so both stop at the limit-th hit.
 */
export function likeScan(db: Kysely<Database>, dialect: "sqlite" | "postgres", userId: string, words: string[], limit = LIMIT) {
  let q = db
    .selectFrom("messages as m")
    .crossJoin("conversations as c")
    .whereRef("c.id", "=", "m.conversation_id")
    .select(["m.id", "m.content", "m.created_at", "c.title"])
    .where("c.user_id", "=", userId);
  for (const w of words) q = q.where("m.content", "like", `%${w}%`);
  return (dialect === "sqlite" ? q.orderBy(sql`m.rowid`, "desc") : q.orderBy("m.created_at", "desc")).limit(limit).execute();
}

async function countMatches(db: Kysely<Database>, userId: string, words: string[]): Promise<number> {
  let q = db
    .selectFrom("messages as m")
    .innerJoin("conversations as c", "c.id", "m.conversation_id")
    .select((e) => e.fn.countAll<number>().as("n"))
    .where("c.user_id", "=", userId);
  for (const w of words) q = q.where("m.content", "like", `%${w}%`);
  return Number((await q.executeTakeFirstOrThrow()).n);
}

async function time(fn: () => Promise<unknown>): Promise<{ p50: number; p99: number; n: number }> {
  for (let i = 0; i < 20; i++) await fn();
  const s: number[] = [];
  const until = performance.now() + BUDGET_MS;
  while (s.length < 20 || (performance.now() < until && s.length < 2_000)) {
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
    // Statistics for the planners (and the store's choice on PostgreSQL), then the
    // load's dirty pages written out, so the timings are not of a background flush.
    if (dialect === "postgres") {
      await sql`vacuum analyze`.execute(db);
      await sql`checkpoint`.execute(db);
    } else {
      await sql`analyze`.execute(db);
      await sql`pragma wal_checkpoint(truncate)`.execute(db);
    }
    // Every search a thousand times before any timing: the store's code is then
    // optimized (V8 compiles hot functions in the background, on a core the
    // database also needs), so the first row timed is not the one paying for it.
    for (let i = 0; i < WARM_RUNS; i++) for (const [, q] of QUERIES) await store.searchMessages(user.id, { query: q, limit: LIMIT });
    const rows: (string | number)[][] = [];
    const load = loadavg()[0]!.toFixed(1);
    for (const [name, q, words] of QUERIES) {
      const hits = await store.searchMessages(user.id, { query: q, limit: LIMIT });
      const found = await likeScan(db, dialect, user.id, words);
      // Both must return the same newest messages, or the comparison means nothing.
      if (hits.map((h) => h.message_id).join() !== found.map((f) => f.id).join()) throw new Error(`${label} "${q}": search and scan disagree`);
      const matches = await countMatches(db, user.id, words);
      const fts = await time(() => store.searchMessages(user.id, { query: q, limit: LIMIT }));
      const scan = await time(() => likeScan(db, dialect, user.id, words));
      const scanned = matches >= LIMIT ? Math.min(TOTAL, Math.round((LIMIT * TOTAL) / matches)) : TOTAL;
      rows.push([label, name, matches, scanned, hits.length, ms(fts.p50), ms(fts.p99), ms(scan.p50), ms(scan.p99), Number((scan.p50 / fts.p50).toFixed(0)), Number((scan.p99 / fts.p99).toFixed(0))]);
    }
    return { rows, note: `${label}: seeded ${CONVERSATIONS * MESSAGES_PER} messages in ${(seedMs / 1000).toFixed(1)} s; 1-minute load average when timing began: ${load}, when it ended: ${loadavg()[0]!.toFixed(1)}` };
  } finally {
    await store.close();
  }
}

export default async function run(): Promise<BenchResult> {
  const rows: (string | number)[][] = [];
  const notes = [
    `one user, ${CONVERSATIONS} conversations x ${MESSAGES_PER} messages of 12-42 words (half from 10 common words, 2% from 10 named topics, the rest from a 3,000-word tail; "${RARE}" in ${RARE_AT.length} messages); newest ${LIMIT} hits with snippets; each query checked to return the same messages as the scan`,
    "search = the store's searchMessages: SQLite FTS5 walked newest rowid first (a prefix of 4+ letters first through its 3-letter prefix index); PostgreSQL asks only the GIN index for a query its lexeme statistics call rare (fewer than 20 hits expected in the newest 2,000 messages), else walks those messages first and asks the index only if they hold fewer than 20 (packages/store/README.md)",
    `baseline = LIKE '%word%' for every word of the query, newest first, in the best plan each database has for it (PostgreSQL walks messages(created_at, id) backwards, SQLite walks rowids backwards), stopping at the ${LIMIT}th hit: it reads about ${LIMIT} x messages / matching messages rows ("rows the scan reads"), all ${TOTAL} when fewer than ${LIMIT} match`,
    "where >= 50x cannot hold: a scan that stops after a few hundred rows (a word in 1 of 20 messages: ~400 rows) or a few dozen (a word in most messages) costs well under a millisecond, less than one search round trip; no index can be 50x faster than that. The ratio holds where the scan reads all the account: a word in a handful of messages, or in none (the typo). A tail word's scan stops after ~5,000 rows: ~3 ms on SQLite; on PostgreSQL ~90 ms (it tests LIKE on every row it walks), against the search's GIN bitmap of ~800 matches, each read from the heap for its date; the pair (hundreds of matches) ends either scan after ~7,000 rows, and on PostgreSQL a prefix costs the GIN index every message holding a word it begins",
  ];
  const measured = await onEachStore(measure);
  for (const r of measured.results) {
    rows.push(...r.rows);
    notes.push(r.note);
  }
  notes.push(...measured.notes);
  return {
    title: "Search (2,000 conversations / 200,000 messages)",
    columns: ["store", "query", "matching messages", "rows the scan reads (~)", "hits", "search p50 ms", "search p99 ms", "LIKE scan p50 ms", "LIKE scan p99 ms", "scan / search p50", "scan / search p99"],
    rows,
    notes,
  };
}
