// Search, export/import and account deletion on a real SQLite file and a real PostgreSQL.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { applyAnswer, applyPass, exerciseKey, Limits, TutorError, type Store } from "@tutor/core";
import { ExportDocument, type ExportedConversation } from "@tutor/protocol";
import { pgAvailable, startPostgres, type PgHandle } from "@tutor/testkit";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { accountMethods } from "./account.js";
import { createStore, createStoreLimiter } from "./index.js";
import type { KyselyStore } from "./store.js";

const requirePg = process.env.REQUIRE_SERVICES === "1";
if (requirePg && !pgAvailable()) throw new Error("REQUIRE_SERVICES=1 but PostgreSQL is not available");

const backends = [
  { name: "sqlite", run: true },
  { name: "postgres", run: pgAvailable() },
] as const;

let seq = 0;
const tick = () => new Promise((r) => setTimeout(r, 2));

describe.each(backends.filter((b) => b.run))("account data on $name", ({ name }) => {
  let store: Store;
  let dir: string;
  let pg: PgHandle | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "tutor-account-"));
    if (name === "postgres") pg = await startPostgres();
    store = await createStore({ dataDir: dir, ...(pg ? { databaseUrl: pg.url } : {}) });
  });
  afterAll(async () => {
    await store?.close();
    await pg?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const user = async () => (await store.createUser({ username: `u${Date.now().toString(36)}${++seq}`, email: null, passwordHash: "h" })).id;
  const conversation = async (userId: string, mode: "qa" | "teacher", texts: [string, string][]) => {
    const c = await store.createConversation(userId, { teachingMode: mode, title: texts[0]?.[0] ?? "empty" });
    const ids: string[] = [];
    for (const [q, a] of texts) {
      ids.push((await store.addMessage(userId, c.id, { type: "user", content: q }))!.id);
      await tick();
      ids.push((await store.addMessage(userId, c.id, { type: "ai", content: a, model: "m1" }))!.id);
      await tick();
    }
    return { id: c.id, ids };
  };

  it("finds questions and answers, newest first, with the matches marked", async () => {
    const u = await user();
    const old = await conversation(u, "qa", [["What is recursion?", "Recursion is a function calling itself."]]);
    const other = await conversation(u, "qa", [["What is a queue?", "First in, first out."]]);
    const recent = await conversation(u, "teacher", [["Teach me recursion please", "We start with the base case of recursion."]]);
    const hits = await store.searchMessages(u, { query: "recursion", limit: 20 });
    expect(hits.map((h) => h.message_id)).toEqual([recent.ids[1], recent.ids[0], old.ids[1], old.ids[0]]);
    expect(hits.some((h) => h.conversation_id === other.id)).toBe(false);
    expect(hits[0]).toMatchObject({ conversation_id: recent.id, teaching_mode: "teacher", title: "Teach me recursion please" });
    expect(hits[0]!.snippet).toBe("We start with the base case of <mark>recursion</mark>.");
    expect(hits[3]!.snippet).toBe("What is <mark>recursion</mark>?");
    expect(Date.parse(hits[0]!.timestamp)).toBeGreaterThan(Date.parse(hits[3]!.timestamp));
    // The mode filter and the limit.
    expect((await store.searchMessages(u, { query: "recursion", limit: 20, teachingMode: "qa" })).map((h) => h.conversation_id)).toEqual([old.id, old.id]);
    expect(await store.searchMessages(u, { query: "recursion", limit: 1 })).toHaveLength(1);
  });

  it("matches the last word as a prefix while the student types, and every word", async () => {
    const u = await user();
    const c = await conversation(u, "qa", [["How does a hash table grow?", "It rehashes into a bigger array."]]);
    expect((await store.searchMessages(u, { query: "rec", limit: 5 })).length).toBe(0);
    expect((await store.searchMessages(u, { query: "rehas", limit: 5 })).map((h) => h.message_id)).toEqual([c.ids[1]]);
    const two = await store.searchMessages(u, { query: "hash tab", limit: 5 });
    expect(two.map((h) => h.message_id)).toEqual([c.ids[0]]);
    expect(two[0]!.snippet).toBe("How does a <mark>hash</mark> <mark>table</mark> grow?");
    // A word must be whole unless it is the last one.
    expect(await store.searchMessages(u, { query: "has table", limit: 5 })).toEqual([]);
  });

  it("returns the newest hits whether the newest messages hold enough of them or the index must be asked", async () => {
    // PostgreSQL first walks the newest conversations (a bounded number of
    // messages), then asks the GIN index; SQLite first reads a long prefix's
    // candidates by its first three letters, then asks FTS5 for the prefix.
    // Tiny bounds make every step and the edges between them happen on a few
    // messages; the default store must give the same answers.
    const kysely = store as KyselyStore;
    const tiny = accountMethods({ db: kysely.db, dialect: kysely.dialect }, { recentMessages: 2, recentConversations: 1, statsMaxAgeMs: 0, sqliteCandidates: 1 });
    const u = await user();
    const other = await user();
    await conversation(other, "qa", [["okapi elsewhere", "okapi for someone else"]]);
    // Y has an okapi newer than X's first one, but X is the conversation updated last;
    // Z's words start like okapi (candidates by "oka") but are not okapi.
    const x = await conversation(u, "qa", [["okapi early in X", "no match"]]);
    const y = await conversation(u, "teacher", [["okapi in Y", "no match here"]]);
    const z = await conversation(u, "qa", [["okay then", "okra soup and big o notation"]]);
    const x2 = await store.addMessage(u, x.id, { type: "user", content: "okapi late in X" });
    const ask = (query: string, limit: number, teachingMode?: "qa" | "teacher") =>
      Promise.all([tiny.searchMessages(u, { query, limit, teachingMode }), store.searchMessages(u, { query, limit, teachingMode })]);
    const expectHits = async (query: string, limit: number, ids: string[], teachingMode?: "qa" | "teacher") => {
      for (const hits of await ask(query, limit, teachingMode)) expect(hits.map((h) => h.message_id), `${query} / ${limit}`).toEqual(ids);
    };
    // limit 1: X's last message is newer than everything outside X, the walk is enough.
    await expectHits("okapi", 1, [x2!.id]);
    // limit 2: the second newest is Y's, outside the walked conversation (and past okay/okra): the index answers.
    await expectHits("okapi", 2, [x2!.id, y.ids[0]!]);
    await expectHits("okap", 20, [x2!.id, y.ids[0]!, x.ids[0]!]);
    await expectHits("oka", 20, [x2!.id, z.ids[0]!, y.ids[0]!, x.ids[0]!]);
    await expectHits("okapi", 20, [x2!.id, x.ids[0]!], "qa");
    await expectHits("okapi early", 20, [x.ids[0]!]);
    await expectHits("no matc", 20, [y.ids[1]!, x.ids[1]!]);
    await expectHits("zzzz", 20, []);
    // One letter is a word, not a prefix (as a prefix it would match nearly everything).
    await expectHits("o", 20, [z.ids[1]!]);
    await expectHits("big o", 20, [z.ids[1]!]);
    // Every hit comes with its snippet and conversation, on either path.
    const [viaIndex, plain] = await ask("okapi", 20);
    expect(viaIndex![1]).toMatchObject({ conversation_id: y.id, title: "okapi in Y", teaching_mode: "teacher", snippet: "<mark>okapi</mark> in Y" });
    expect(plain).toEqual(viaIndex);
    expect((await store.searchMessages(u, { query: "o", limit: 5 }))[0]!.snippet).toBe("okra soup and big <mark>o</mark> notation");
  });

  if (name === "postgres")
    it("asks only the index for a word the statistics call rare, and finds the same newest hits", async () => {
    // After ANALYZE the store reads the lexeme frequencies: a word in two
    // messages skips the walk of the newest messages, a word in most of them
    // keeps it; either way the answers are the student's newest hits.
    const kysely = store as KyselyStore;
    const tuned = accountMethods({ db: kysely.db, dialect: kysely.dialect }, { recentMessages: 100, recentConversations: 100, statsMaxAgeMs: 60_000, sqliteCandidates: 1 });
    const u = await user();
    const other = await user();
    await conversation(other, "qa", [["a wombat elsewhere", "loop"]]);
    const old = await conversation(u, "teacher", [["the wombat long ago", "loop and loop"]]);
    const busy = await conversation(u, "qa", Array.from({ length: 60 }, (_, i): [string, string] => [`loop question ${i}`, `loop answer ${i}`]));
    const late = await conversation(u, "qa", [["a wombat again", "a loop again"]]);
    await sql`analyze messages`.execute(kysely.db);
    await tuned.refreshSearchStats();
    expect(await tuned.searchPlan(["wombat"], 20)).toBe("index only");
    expect(await tuned.searchPlan(["wom"], 20)).toBe("index only");
    expect(await tuned.searchPlan(["loop"], 20)).toBe("recent first");
    expect(await tuned.searchPlan(["loop", "wombat"], 20)).toBe("index only");
    const both = async (query: string, limit: number, teachingMode?: "qa" | "teacher") => {
      const [a, b] = await Promise.all([tuned.searchMessages(u, { query, limit, teachingMode }), store.searchMessages(u, { query, limit, teachingMode })]);
      expect(a, query).toEqual(b);
      return a.map((h) => h.message_id);
    };
    expect(await both("wombat", 20)).toEqual([late.ids[0], old.ids[0]]);
    expect(await both("wom", 20)).toEqual([late.ids[0], old.ids[0]]);
    expect(await both("wombat", 1)).toEqual([late.ids[0]]);
    expect(await both("wombat", 20, "teacher")).toEqual([old.ids[0]]);
    expect(await both("loop", 3)).toEqual([late.ids[1], busy.ids.at(-1), busy.ids.at(-2)]);
    expect((await tuned.searchMessages(u, { query: "wombat", limit: 20 }))[1]).toMatchObject({ conversation_id: old.id, teaching_mode: "teacher", title: "the wombat long ago", snippet: "the <mark>wombat</mark> long ago" });
  });

  it("never shows another student's messages", async () => {
    const a = await user();
    const b = await user();
    await conversation(a, "qa", [["secret topic zebra", "zebra answer"]]);
    expect(await store.searchMessages(b, { query: "zebra", limit: 20 })).toEqual([]);
    expect(await store.searchMessages(a, { query: "zebra", limit: 20 })).toHaveLength(2);
  });

  it("treats hostile queries as words or refuses them as invalid_message", async () => {
    const u = await user();
    await conversation(u, "qa", [['Use "quotes" OR NEAR stars* and 100% -minus', "日本語のテキスト and café"]]);
    for (const q of ['"', '"unbalanced', "*", "OR", "NEAR(a b)", "-minus", "%", "a:b", "col:quotes", "(((", "'; drop table messages; --", "\\", "quotes OR", "NOT quotes", "^quotes", "100%"]) {
      try {
        const hits = await store.searchMessages(u, { query: q, limit: 5 });
        expect(Array.isArray(hits)).toBe(true);
      } catch (err) {
        expect(err).toBeInstanceOf(TutorError);
        expect((err as TutorError).code).toBe("invalid_message");
      }
    }
    await expect(store.searchMessages(u, { query: '" * % -', limit: 5 })).rejects.toMatchObject({ code: "invalid_message" });
    expect(await store.searchMessages(u, { query: "OR", limit: 5 })).toHaveLength(1);
    expect(await store.searchMessages(u, { query: "near", limit: 5 })).toHaveLength(1);
    expect(await store.searchMessages(u, { query: "-minus", limit: 5 })).toHaveLength(1);
    expect((await store.searchMessages(u, { query: "café", limit: 5 }))[0]!.snippet).toContain("<mark>café</mark>");
  });

  it("keeps the index on insert, conversation delete, clear and account deletion", async () => {
    const u = await user();
    const one = await conversation(u, "qa", [["walrus one", "walrus answer"]]);
    await conversation(u, "teacher", [["walrus two", "more walrus"]]);
    expect(await store.searchMessages(u, { query: "walrus", limit: 20 })).toHaveLength(4);
    await store.deleteConversation(u, one.id);
    expect(await store.searchMessages(u, { query: "walrus", limit: 20 })).toHaveLength(2);
    await store.clearConversations(u, "teacher", "fresh");
    expect(await store.searchMessages(u, { query: "walrus", limit: 20 })).toHaveLength(0);
    await conversation(u, "qa", [["walrus three", "walrus again"]]);
    expect(await store.deleteUser(u)).toBe(true);
    expect(await store.findUserById(u)).toBeUndefined();
    expect(await store.searchMessages(u, { query: "walrus", limit: 20 })).toHaveLength(0);
    expect(await store.deleteUser(u)).toBe(false);
  });

  it("account deletion removes the account's limiter counters (budgets, running slots, failed sign-ins), not the address's or another account's", async () => {
    const limits = new Limits(createStoreLimiter(store, undefined, 0));
    const r = limits.rules;
    const names: Record<string, string> = {};
    const ids = [await user(), await user()];
    for (const id of ids) names[id] = (await store.findUserById(id))!.username;
    const address = `10.0.${++seq}.1`;
    for (const id of ids) {
      const done = await limits.admitTurn(id);
      done.usage({ promptTokens: 300, completionTokens: 200 });
      await done.end();
      await limits.admitTurn(id); // still running: holds a slot
      await limits.beginLogin(names[id]!.toUpperCase(), address); // a failed sign-in, never given back
    }
    const counts = async (id: string) => {
      const account = names[id]!.toLowerCase();
      return Promise.all([
        limits.limiter.peek(r.tokensPerDay, id),
        limits.limiter.peek(r.turnsPerHour, id),
        limits.limiter.peek(r.turnSlot, `${id}#0`),
        limits.limiter.peek(r.failedLoginsAccount, account),
        limits.limiter.peek(r.failedLoginsAccountAddress, `${account}|${address}`),
      ]).then((states) => states.map((s) => s.used));
    };
    expect(await counts(ids[0]!)).toEqual([500, 2, 1, 1, 1]);
    expect(await store.deleteUser(ids[0]!)).toBe(true);
    expect(await counts(ids[0]!)).toEqual([0, 0, 0, 0, 0]);
    expect(await counts(ids[1]!)).toEqual([500, 2, 1, 1, 1]);
    expect((await limits.limiter.peek(r.failedLoginsAddress, address)).used).toBe(2);
  });

  it("exports, imports under new ids without touching anything, and exports the same again", async () => {
    const a = await user();
    await conversation(a, "qa", [["What is a stack?", "Last in, first out.\n\n```js\nconst s = [];\n```"]]);
    await conversation(a, "teacher", [["Teach me graphs", "A graph has nodes and edges."], ["And trees?", "A tree is a graph without cycles."]]);
    const exported = await store.exportConversations(a);
    expect(exported).toHaveLength(2);
    const b = await user();
    const mine = await conversation(b, "qa", [["my own", "stays"]]);
    const docs: ExportedConversation[] = exported.map(({ id: _id, messages, ...c }) => ({ ...c, messages: messages.map(({ id: _m, ...m }) => m) }));
    const r = await store.importConversations(b, docs);
    expect(r.conversationIds).toHaveLength(2);
    expect(r.messageCount).toBe(6);
    expect(r.conversationIds.some((id) => exported.some((e) => e.id === id))).toBe(false);
    const again = (await store.exportConversations(b)).filter((c) => c.id !== mine.id);
    const strip = (cs: typeof exported) =>
      cs.map((c) => ({ title: c.title, mode: c.teaching_mode, messages: c.messages.map((m) => ({ type: m.type, content: m.content, model: m.model })) }));
    expect(strip(again)).toEqual(strip(exported));
    // Imported conversations are listed, counted and searchable like any.
    const page = await store.listConversations(b, { limit: 10 });
    expect(page.conversations.find((c) => c.id === r.conversationIds[1])).toMatchObject({ message_count: 4, last_message: { type: "ai", content: "A tree is a graph without cycles." } });
    expect((await store.searchMessages(b, { query: "cycles", limit: 5 }))[0]!.conversation_id).toBe(r.conversationIds[1]);
    expect((await store.getConversation(b, mine.id))!.messages).toHaveLength(2);
    // A foreign conversation exports as nothing.
    expect(await store.exportConversations(b, exported[0]!.id)).toEqual([]);
  });

  it("carries a teacher conversation's course progress through export and import, exercises renamed with their answers", async () => {
    const a = await user();
    const outline = "Here is the plan:\n\n```outline\n1. Lists — store many values\n2. Loops — repeat work\n```\n\n## Chapter 1: Lists\n\n```python exercise\nxs = []\n```\n```python tests\nassert xs == [1]\n```";
    const t = await conversation(a, "teacher", [["Teach me Python", outline], ["Next?", "```python exercise\nn = 0\n```\n```python tests\nassert n == 2\n```"]]);
    const [first, second] = [t.ids[1]!, t.ids[3]!];
    await store.updateCourse(a, t.id, (s) => applyAnswer(s, first, outline));
    await store.updateCourse(a, t.id, (s) => applyAnswer(s, second, "```python exercise\nn = 0\n```\n```python tests\nassert n == 2\n```"));
    await store.updateCourse(a, t.id, (s) => applyPass(s, exerciseKey(first, 0)));
    const summary = (await store.listConversations(a, { limit: 5 })).conversations.find((c) => c.id === t.id)!;
    expect(summary.course).toMatchObject({ current: 0, exercises_passed: 1, exercises_total: 2 });

    const [exported] = await store.exportConversations(a, t.id);
    expect(exported!.course).toEqual({
      chapters: [
        { n: 1, title: "Lists", goal: "store many values" },
        { n: 2, title: "Loops", goal: "repeat work" },
      ],
      current: 0,
      exercises: [
        { message_id: first, index: 0, passed: true },
        { message_id: second, index: 0, passed: false },
      ],
    });
    // The document validates (the field is optional: older documents stay valid), and imports elsewhere.
    const doc = ExportDocument.parse({ version: 1, exported_at: new Date().toISOString(), conversations: [exported] });
    expect(ExportDocument.safeParse({ ...doc, conversations: doc.conversations.map(({ course: _c, ...c }) => c) }).success).toBe(true);
    const b = await user();
    const [id] = (await store.importConversations(b, doc.conversations)).conversationIds;
    const imported = (await store.listConversations(b, { limit: 5 })).conversations.find((c) => c.id === id)!;
    expect(imported.course).toEqual(summary.course);
    // The exercises now name the imported answers: a pass of the second one counts once, in b's copy.
    const [copy] = await store.exportConversations(b, id);
    const newSecond = copy!.messages[3]!.id;
    expect(copy!.course!.exercises.map((e) => e.message_id)).toEqual([copy!.messages[1]!.id, newSecond]);
    await store.updateCourse(b, id!, (s) => applyPass(s, exerciseKey(newSecond, 0)));
    expect((await store.listConversations(b, { limit: 5 })).conversations.find((c) => c.id === id)!.course).toMatchObject({ exercises_passed: 2, exercises_total: 2 });
    // a's course is untouched; a Q&A conversation carries none.
    expect((await store.listConversations(a, { limit: 5 })).conversations.find((c) => c.id === t.id)!.course).toEqual(summary.course);
    const qa = await conversation(a, "qa", [["plain", "answer"]]);
    expect((await store.exportConversations(a, qa.id))[0]).not.toHaveProperty("course");
  });

  it("revokes every other token of the user and changes the password hash", async () => {
    const u = await user();
    const later = new Date(Date.now() + 3_600_000).toISOString();
    for (const jti of [`${u}-a`, `${u}-b`, `${u}-c`]) await store.insertToken({ jti, userId: u, expiresAt: later });
    expect((await store.revokeUserTokens(u, new Date().toISOString(), `${u}-a`)).sort()).toEqual([`${u}-b`, `${u}-c`]);
    expect((await store.findToken(`${u}-a`))!.revoked_at).toBeNull();
    expect((await store.findToken(`${u}-b`))!.revoked_at).not.toBeNull();
    await store.setPasswordHash(u, "new-hash");
    expect((await store.findUserById(u))!.password_hash).toBe("new-hash");
  });
});
