// Listing a page of conversations with counts and last messages: the store's
// single query against the per-row strategy (1 page query + 2 per
// conversation), on one user with 2,000 conversations and 200,000 messages.
// A third column times the single query as it was before migration 002
// (counting messages in subqueries), to show what the derived columns buy.
import { loadavg } from "node:os";
import { CompiledQuery, sql, type Kysely } from "kysely";
import type { ListOptions } from "@tutor/core";
import type { BenchResult } from "../../../scripts/bench-types.js";
import { onEachStore, seedAccount } from "./bench-data.js";
import { openDatabase, type Database, type OpenOptions } from "../src/db.js";
import { KyselyStore, pageQuery } from "../src/store.js";

const CONVERSATIONS = 2_000;
const MESSAGES_PER = 100;
const PAGE = 20;
const DEEP = 1_000; // conversations skipped before the deep page
const BUDGET_MS = 5_000; // per page for all strategies together, after warm-up

/** One message a second; the derived columns are what addMessage would have left (the strategies' cross-check below proves it). */
function seed(db: Kysely<Database>, userId: string): Promise<void> {
  const start = Date.parse("2026-01-01T00:00:00.000Z");
  const at = (n: number) => new Date(start + n * 1000).toISOString();
  return seedAccount(db, userId, {
    conversations: CONVERSATIONS,
    messagesPer: MESSAGES_PER,
    conversation: (c) => ({
      title: `Conversation ${c}: recursion and the call stack`,
      teaching_mode: c % 2 ? "qa" : "teacher",
      created_at: at(c * MESSAGES_PER),
      updated_at: at(c * MESSAGES_PER + MESSAGES_PER - 1),
    }),
    message: (c, m) => {
      const ai = m % 2 === 1;
      return {
        type: ai ? "ai" : "user",
        content: ai ? `A stack frame holds the locals of one call (${m}). `.repeat(6) : `Why does my recursion overflow? (${m})`,
        model: ai ? "llama-3.3-70b-versatile" : null,
        created_at: at(c * MESSAGES_PER + m),
      };
    },
  });
}

function decodeAfter(options: ListOptions): [string, string] | undefined {
  const after = options.cursor ? Buffer.from(options.cursor, "base64url").toString().split("|") : undefined;
  return after && [after[0]!, after[1]!];
}

/** The strategy a plain ORM loop gives: one query for the page, then a count and a last-message query per row. */
async function perRow(db: Kysely<Database>, userId: string, options: ListOptions) {
  const after = decodeAfter(options);
  const page = await db
    .selectFrom("conversations")
    .select(["id", "title", "teaching_mode", "created_at", "updated_at"])
    .where("user_id", "=", userId)
    .$if(after !== undefined, (q) => q.where((eb) => eb(eb.refTuple("updated_at", "id"), "<", eb.tuple(after![0], after![1]))))
    .orderBy("updated_at", "desc")
    .orderBy("id", "desc")
    .limit(options.limit + 1)
    .execute();
  const out = [];
  for (const c of page.slice(0, options.limit)) {
    const { n } = await db
      .selectFrom("messages")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .where("conversation_id", "=", c.id)
      .executeTakeFirstOrThrow();
    const last = await db
      .selectFrom("messages")
      .select(["type", "content"])
      .where("conversation_id", "=", c.id)
      .orderBy("created_at", "desc")
      .orderBy("id", "desc")
      .limit(1)
      .executeTakeFirst();
    out.push({ ...c, message_count: Number(n), last_message: last ?? null });
  }
  return out;
}

/** The single query before migration 002: correlated subqueries count the messages and find the newest, per row. */
async function countingQuery(db: Kysely<Database>, userId: string, options: ListOptions) {
  const after = decodeAfter(options);
  const rows = await db
    .selectFrom("conversations as c")
    .select((eb) => {
      const messages = () => eb.selectFrom("messages as m").whereRef("m.conversation_id", "=", "c.id");
      const newest = () => messages().orderBy("m.created_at", "desc").orderBy("m.id", "desc").limit(1);
      return [
        "c.id",
        "c.title",
        "c.teaching_mode",
        "c.created_at",
        "c.updated_at",
        messages()
          .select((m) => m.fn.countAll<number>().as("n"))
          .as("n"),
        newest().select("m.type").as("last_type"),
        newest().select("m.content").as("last_content"),
      ];
    })
    .where("c.user_id", "=", userId)
    .$if(after !== undefined, (q) => q.where((eb) => eb(eb.refTuple("c.updated_at", "c.id"), "<", eb.tuple(after![0], after![1]))))
    .orderBy("c.updated_at", "desc")
    .orderBy("c.id", "desc")
    .limit(options.limit + 1)
    .execute();
  return rows.slice(0, options.limit).map(({ n, last_type, last_content, ...c }) => ({
    ...c,
    message_count: Number(n),
    last_message: last_type == null ? null : { type: last_type, content: last_content },
  }));
}

/**
 * p50 and p99 of each strategy. They take turns in blocks of a few calls, so
 * each is timed warm while load from anything else on the machine falls on
 * all of them alike.
 */
async function time(strategies: (() => Promise<unknown>)[]): Promise<{ p50: number; p99: number }[]> {
  const BLOCK = 10;
  for (let i = 0; i < 20; i++) for (const fn of strategies) await fn();
  const samples = strategies.map(() => [] as number[]);
  const until = performance.now() + BUDGET_MS;
  for (let round = 0; round < 200 && (round < 5 || performance.now() < until); round++) {
    for (const [i, fn] of strategies.entries()) {
      for (let k = 0; k < BLOCK; k++) {
        const t = performance.now();
        await fn();
        samples[i]!.push(performance.now() - t);
      }
    }
  }
  return samples.map((s) => {
    s.sort((a, b) => a - b);
    const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
    return { p50: q(0.5), p99: q(0.99) };
  });
}

const ms = (x: number) => Number(x.toFixed(3));

async function measure(label: string, options: OpenOptions): Promise<{ rows: (string | number)[][]; notes: string[] }> {
  const { db, dialect } = await openDatabase(options);
  const store = new KyselyStore(db, dialect);
  try {
    const user = await store.createUser({ username: `bench_${Date.now()}`, email: null, passwordHash: "x" });
    const t0 = performance.now();
    await seed(db, user.id);
    const seedMs = performance.now() - t0;
    if (dialect === "postgres") await sql`vacuum analyze`.execute(db); // what autovacuum does to a live database

    let cursor: string | undefined;
    for (let skipped = 0; skipped < DEEP; skipped += PAGE) {
      cursor = (await store.listConversations(user.id, { limit: PAGE, cursor })).nextCursor ?? undefined;
    }
    const pages: [string, ListOptions][] = [
      ["first page", { limit: PAGE }],
      [`page after ${DEEP}`, { limit: PAGE, cursor }],
    ];
    const rows: (string | number)[][] = [];
    const load = loadavg()[0]!.toFixed(1);
    for (const [name, opts] of pages) {
      const single = JSON.stringify((await store.listConversations(user.id, opts)).conversations);
      for (const [strategy, other] of [["per-row", await perRow(db, user.id, opts)], ["counting", await countingQuery(db, user.id, opts)]] as const) {
        if (JSON.stringify(other) !== single) throw new Error(`${strategy} and the store disagree on ${label} ${name}`);
      }
      const [one, counting, many] = await time([
        () => store.listConversations(user.id, opts),
        () => countingQuery(db, user.id, opts),
        () => perRow(db, user.id, opts),
      ]);
      rows.push([
        label,
        name,
        ms(one!.p50),
        ms(one!.p99),
        ms(many!.p50),
        ms(many!.p99),
        Number((many!.p50 / one!.p50).toFixed(1)),
        ms(counting!.p50),
      ]);
    }
    const deep = pageQuery(db, user.id, pages[1]![1]);
    const plan = await db.executeQuery<Record<string, unknown>>(
      CompiledQuery.raw((dialect === "sqlite" ? "explain query plan " : "explain ") + deep.sql, [...deep.parameters]),
    );
    const planText = plan.rows
      .map((r) => String(r.detail ?? r["QUERY PLAN"]).trim())
      .filter((l) => /index|scan|search/i.test(l) && !/cond|subplan/i.test(l))
      .join("; ");
    return {
      rows,
      notes: [
        `${label}: seeded ${CONVERSATIONS} conversations / ${CONVERSATIONS * MESSAGES_PER} messages in ${(seedMs / 1000).toFixed(1)} s; ` +
          `1-minute load average when timing began: ${load}; deep-page plan: ${planText}`,
      ],
    };
  } finally {
    await store.close();
  }
}

export default async function run(): Promise<BenchResult> {
  const rows: (string | number)[][] = [];
  const notes = [
    `one user, ${CONVERSATIONS} conversations x ${MESSAGES_PER} messages, page of ${PAGE}; the three strategies are checked to return the same page, then timed taking turns in blocks of 10 calls`,
    "one query = the store's listConversations: a keyset range scan of conversations, each row's message_count read from the row and its last message joined by primary key (the derived columns of migration 002); its four shapes are compiled once, not per call",
    `per-row = 1 page query + 2 per conversation (${1 + 2 * PAGE} queries): a count and a newest-message lookup on messages(conversation_id, created_at, id)`,
    "counting query = the single statement as it was before migration 002, with those two lookups as correlated subqueries: on SQLite, in process, one statement instead of 41 saves only per-statement overhead, and counting ~100 messages a row costs the same either way; the derived columns remove the counting",
  ];
  const measured = await onEachStore(measure);
  for (const r of measured.results) {
    rows.push(...r.rows);
    notes.push(...r.notes);
  }
  notes.push(...measured.notes);
  return {
    title: "Conversation list page: one query vs. per-row queries",
    columns: [
      "database",
      "page",
      "one query p50 ms",
      "one query p99 ms",
      "per-row p50 ms",
      "per-row p99 ms",
      "speed-up (p50)",
      "counting query p50 ms",
    ],
    rows,
    notes,
  };
}
