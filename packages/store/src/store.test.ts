// One suite, run on a real SQLite file and on a real PostgreSQL cluster.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConflictError, applyAnswer, applyPass, type CourseState, type Store } from "@tutor/core";
import { pgAvailable, startPostgres, type PgHandle } from "@tutor/testkit";
import { CompiledQuery, Migrator, sql, type Kysely } from "kysely";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createStore } from "./index.js";
import { connect, migrations, type Database } from "./db.js";
import { accountMethods, SEARCH_TUNING } from "./account.js";
import { pageQuery } from "./store.js";

const requirePg = process.env.REQUIRE_SERVICES === "1";

interface Backend {
  /** Options for a store on this backend; `fresh` gives an empty database (a new SQLite file or PostgreSQL database). */
  options(fresh?: boolean): Promise<{ databaseUrl?: string; dataDir: string }>;
  cleanup(): Promise<void>;
}

async function sqliteBackend(): Promise<Backend> {
  const dirs: string[] = [];
  let shared: string | undefined;
  return {
    async options(fresh) {
      if (fresh || !shared) {
        const dir = await mkdtemp(join(tmpdir(), "tutor-store-"));
        dirs.push(dir);
        if (!fresh) shared = dir;
        return { dataDir: dir };
      }
      return { dataDir: shared };
    },
    async cleanup() {
      await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
    },
  };
}

async function postgresBackend(): Promise<Backend> {
  if (!pgAvailable() && requirePg) {
    throw new Error("REQUIRE_SERVICES=1 but PostgreSQL is not available (no initdb/pg_ctl and no TEST_DATABASE_URL)");
  }
  const pg: PgHandle = await startPostgres();
  const dataDir = await mkdtemp(join(tmpdir(), "tutor-store-pg-"));
  const created: string[] = [];
  const admin = async (statement: string) => {
    const c = new Client({ connectionString: pg.url });
    await c.connect();
    try {
      await c.query(statement);
    } finally {
      await c.end();
    }
  };
  return {
    async options(fresh) {
      if (!fresh) return { databaseUrl: pg.url, dataDir };
      const name = unique("fresh").toLowerCase();
      await admin(`create database ${name}`);
      created.push(name);
      const url = new URL(pg.url);
      url.pathname = `/${name}`;
      return { databaseUrl: url.toString(), dataDir };
    },
    async cleanup() {
      for (const name of created) await admin(`drop database if exists ${name} with (force)`);
      await pg.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

const backends = [
  { name: "sqlite", make: sqliteBackend, run: true },
  { name: "postgres", make: postgresBackend, run: pgAvailable() || requirePg },
] as const;

let seq = 0;
const unique = (prefix: string) => `${prefix}_${process.pid}_${Date.now().toString(36)}_${seq++}`;

/** The Kysely handle behind a store, for assertions a user of the port cannot make (plans, raw rows). */
const kysely = (store: Store) => (store as unknown as { db: Kysely<Database> }).db;

for (const { name, make, run } of backends) {
  describe.skipIf(!run)(`store on ${name}`, () => {
    let backend: Backend;
    let store: Store;

    beforeAll(async () => {
      backend = await make();
      store = await createStore(await backend.options());
    });
    afterAll(async () => {
      await store?.close();
      await backend?.cleanup();
    });

    const newUser = (email: string | null = null) =>
      store.createUser({ username: unique("u"), email, passwordHash: "$argon2id$fake" });

    it("reports its dialect and answers ping", async () => {
      expect(store.dialect).toBe(name);
      await expect(store.ping()).resolves.toBeUndefined();
    });

    it("applies migrations once and reopens an existing database without error", async () => {
      const other = await createStore(await backend.options());
      const applied = await kysely(other).selectFrom("kysely_migration" as never).select(sql<string>`name`.as("name")).execute();
      expect(applied.map((r) => r.name)).toEqual(["001_initial", "002_conversation_counters", "003_course", "004_search", "005_limit_counters", "006_message_owner"]);
      await other.close();
    });

    it("keeps a teacher conversation's course with it and shows it in summaries; messages and courses are owner-scoped", async () => {
      const user = await newUser();
      const stranger = await newUser();
      const conv = await store.createConversation(user.id, { teachingMode: "teacher", title: "Course" });
      const answer = await store.addMessage(user.id, conv.id, { type: "ai", content: "```outline\n1. A — a\n2. B — b\n```" });
      expect(await store.getMessage(user.id, conv.id, answer!.id)).toEqual(answer);
      expect(await store.getMessage(stranger.id, conv.id, answer!.id)).toBeUndefined();
      expect((await store.getConversationSummary(user.id, conv.id))?.course).toBeUndefined();

      const outline = applyAnswer(null, answer!.id, answer!.content)!;
      expect(await store.updateCourse(stranger.id, conv.id, () => outline)).toBe(false);
      expect(await store.updateCourse(user.id, conv.id, () => outline)).toBe(true);
      expect(await store.updateCourse(user.id, conv.id, (s) => s)).toBe(false); // unchanged: no write
      const withChapter = (s: CourseState | null) => applyAnswer(s, "m2", "## Chapter 2: B");
      // Concurrent changes do not lose each other (one transaction each, row locked on PostgreSQL).
      await Promise.all([store.updateCourse(user.id, conv.id, withChapter), store.updateCourse(user.id, conv.id, (s) => applyPass(s, "m2#0"))]);
      const expected = { chapters: [{ title: "A", status: "done" }, { title: "B", status: "current" }], current: 1, exercises_passed: 1, exercises_total: 1 };
      expect((await store.getConversationSummary(user.id, conv.id))?.course).toEqual(expected);
      expect((await store.getConversation(user.id, conv.id))?.course).toEqual(expected);
      const page = await store.listConversations(user.id, { limit: 5 });
      expect(page.conversations.find((c) => c.id === conv.id)?.course).toEqual(expected);
    });

    it("keeps data across close and reopen", async () => {
      const options = await backend.options(true);
      const first = await createStore(options);
      const user = await first.createUser({ username: unique("keep"), email: null, passwordHash: "h" });
      const conv = await first.createConversation(user.id, { teachingMode: "qa", title: "Kept" });
      await first.addMessage(user.id, conv.id, { type: "user", content: "still here?" });
      await first.close();

      const second = await createStore(options);
      try {
        expect(await second.findUserById(user.id)).toEqual(user);
        const got = await second.getConversation(user.id, conv.id);
        expect(got?.messages.map((m) => m.content)).toEqual(["still here?"]);
      } finally {
        await second.close();
      }
    });

    describe("users", () => {
      it("creates a user and finds it by id and by username in any case", async () => {
        const username = unique("MixedCase");
        const user = await store.createUser({ username, email: `${username}@example.org`, passwordHash: "hash" });
        expect(user).toMatchObject({ username, email: `${username}@example.org`, password_hash: "hash", last_login: null });
        expect(user.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
        expect(await store.findUserById(user.id)).toEqual(user);
        expect(await store.findUserByUsername(username.toUpperCase())).toEqual(user);
        expect(await store.findUserByUsername(username.toLowerCase())).toEqual(user);
        expect(await store.findUserByUsername(unique("nobody"))).toBeUndefined();
      });

      it("rejects a duplicate username regardless of case with ConflictError('username')", async () => {
        const username = unique("Dup");
        await store.createUser({ username, email: null, passwordHash: "h" });
        const err = await store.createUser({ username: username.toUpperCase(), email: null, passwordHash: "h" }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(ConflictError);
        expect((err as ConflictError).field).toBe("username");
      });

      it("rejects a duplicate email with ConflictError('email') but allows many users without one", async () => {
        const email = `${unique("mail")}@Example.org`;
        await store.createUser({ username: unique("a"), email, passwordHash: "h" });
        const err = await store.createUser({ username: unique("b"), email: email.toLowerCase(), passwordHash: "h" }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(ConflictError);
        expect((err as ConflictError).field).toBe("email");
        await newUser(null);
        await newUser(null);
      });

      it("records the last login time", async () => {
        const user = await newUser();
        await store.setLastLogin(user.id, "2030-01-02T03:04:05.678Z");
        expect((await store.findUserById(user.id))?.last_login).toBe("2030-01-02T03:04:05.678Z");
      });
    });

    describe("tokens", () => {
      it("inserts, finds and revokes a token; the first revocation time sticks", async () => {
        const user = await newUser();
        const jti = unique("jti");
        await store.insertToken({ jti, userId: user.id, expiresAt: "2031-05-06T07:08:09.010Z" });
        expect(await store.findToken(jti)).toEqual({ jti, user_id: user.id, expires_at: "2031-05-06T07:08:09.010Z", revoked_at: null });
        await store.revokeToken(jti, "2030-01-01T00:00:00.000Z");
        await store.revokeToken(jti, "2030-06-01T00:00:00.000Z");
        expect((await store.findToken(jti))?.revoked_at).toBe("2030-01-01T00:00:00.000Z");
        expect(await store.findToken(unique("missing"))).toBeUndefined();
      });
    });

    describe("login throttling", () => {
      it("counts failures of one key inside the window and clears them", async () => {
        const key = unique("ip");
        const other = unique("ip");
        for (const at of ["2030-01-01T00:00:00.000Z", "2030-01-01T00:01:00.000Z", "2030-01-01T00:02:00.000Z", "2030-01-01T00:03:00.000Z"]) {
          await store.recordLoginFailure(key, at);
        }
        await store.recordLoginFailure(other, "2030-01-01T00:02:30.000Z");
        expect(await store.loginFailures(key, "2030-01-01T00:01:00.000Z")).toEqual({ count: 3, oldest: "2030-01-01T00:01:00.000Z" });
        expect(await store.loginFailures(key, "2030-01-01T01:00:00.000Z")).toEqual({ count: 0, oldest: null });
        await store.clearLoginFailures(key);
        expect(await store.loginFailures(key, "2000-01-01T00:00:00.000Z")).toEqual({ count: 0, oldest: null });
        expect((await store.loginFailures(other, "2000-01-01T00:00:00.000Z")).count).toBe(1);
      });
    });

    describe("conversations", () => {
      it("reuses the newest empty conversation of a mode and knows the latest one", async () => {
        const user = await newUser();
        expect(await store.findEmptyConversation(user.id, "teacher")).toBeUndefined();
        expect(await store.latestConversation(user.id, "teacher")).toBeUndefined();
        const used = await store.createConversation(user.id, { teachingMode: "teacher", title: "used" });
        await store.addMessage(user.id, used.id, { type: "user", content: "hi" });
        expect(await store.findEmptyConversation(user.id, "teacher")).toBeUndefined();
        const older = await store.createConversation(user.id, { teachingMode: "teacher", title: "empty 1" });
        const newer = await store.createConversation(user.id, { teachingMode: "teacher", title: "empty 2" });
        await store.createConversation(user.id, { teachingMode: "qa", title: "other mode" });
        expect((await store.findEmptyConversation(user.id, "teacher"))?.id).toBe(newer.id);
        expect((await store.latestConversation(user.id, "teacher"))?.id).toBe(newer.id);
        // updated_at has millisecond resolution: in the same millisecond as
        // newer's creation, the tie would go to the newer id.
        await new Promise((r) => setTimeout(r, 5));
        await store.addMessage(user.id, used.id, { type: "ai", content: "hello" });
        const latest = await store.latestConversation(user.id, "teacher");
        expect(latest).toMatchObject({ id: used.id, message_count: 2, last_message: { type: "ai", content: "hello" } });
        expect(older.id).not.toBe(newer.id);
      });

      it("adds messages, bumps updated_at and returns them oldest first with the protocol shape", async () => {
        const user = await newUser();
        const conv = await store.createConversation(user.id, { teachingMode: "qa", title: "Q" });
        expect(conv).toMatchObject({ title: "Q", teaching_mode: "qa", message_count: 0, last_message: null });
        const q = await store.addMessage(user.id, conv.id, { type: "user", content: "What is a stack?" });
        const a = await store.addMessage(user.id, conv.id, { type: "ai", content: "LIFO.", model: "llama-3.3-70b-versatile" });
        expect(q).toEqual({ id: q!.id, type: "user", content: "What is a stack?", timestamp: q!.timestamp });
        expect(q).not.toHaveProperty("model");
        expect(a).toMatchObject({ type: "ai", content: "LIFO.", model: "llama-3.3-70b-versatile" });
        const got = await store.getConversation(user.id, conv.id);
        expect(got).toMatchObject({ id: conv.id, message_count: 2, last_message: { type: "ai", content: "LIFO." } });
        expect(got!.messages).toEqual([q, a]);
        expect(got!.updated_at).toBe(a!.timestamp);
        expect(got!.updated_at >= conv.updated_at).toBe(true);
      });

      it("keeps an announced message id", async () => {
        const user = await newUser();
        const conv = await store.createConversation(user.id, { teachingMode: "qa", title: "Q" });
        const id = "0190a0b0-0000-7000-8000-000000000001";
        expect((await store.addMessage(user.id, conv.id, { id, type: "ai", content: "streamed" }))?.id).toBe(id);
        expect((await store.getConversation(user.id, conv.id))?.messages[0]?.id).toBe(id);
      });

      it("keeps insertion order for many messages written within the same millisecond", async () => {
        const user = await newUser();
        const conv = await store.createConversation(user.id, { teachingMode: "qa", title: "burst" });
        const written = [];
        // A frozen wall clock puts every message in one millisecond, whatever the machine's speed.
        vi.useFakeTimers({ toFake: ["Date"], now: Date.now() });
        try {
          for (let i = 0; i < 60; i++) written.push(await store.addMessage(user.id, conv.id, { type: i % 2 ? "ai" : "user", content: `m${i}` }));
        } finally {
          vi.useRealTimers();
        }
        expect(new Set(written.map((m) => m!.timestamp)).size).toBe(1);
        const got = await store.getConversation(user.id, conv.id);
        expect(got!.messages.map((m) => m.content)).toEqual(written.map((m) => m!.content));
        expect(got!.last_message).toEqual({ type: "ai", content: "m59" });
        const recent = await store.recentMessages(user.id, conv.id, 15);
        expect(recent.map((m) => m.content)).toEqual(written.slice(-15).map((m) => m!.content));
      });

      it("stores any Unicode and SQL- or HTML-looking text verbatim", async () => {
        const user = await newUser();
        const samples = [
          "Robert'); DROP TABLE conversations;--",
          "<script>alert('x')</script> &amp; <b>bold</b>",
          "مرحبا بالعالم — שלום 👩🏽‍💻🚀 \u200f ẞ Ω",
          "' OR 1=1 -- \\ \" % _ ; \n\t tabs",
          "null\u0001control",
        ];
        for (const title of samples) {
          const conv = await store.createConversation(user.id, { teachingMode: "qa", title });
          await store.addMessage(user.id, conv.id, { type: "user", content: title });
          const got = await store.getConversation(user.id, conv.id);
          expect(got?.title).toBe(title);
          expect(got?.messages[0]?.content).toBe(title);
          expect(got?.last_message?.content).toBe(title);
        }
        const renamed = await store.createConversation(user.id, { teachingMode: "qa", title: "x" });
        await store.renameConversation(user.id, renamed.id, samples[2]!);
        expect((await store.getConversationSummary(user.id, renamed.id))?.title).toBe(samples[2]);
        expect((await store.listConversations(user.id, { limit: 100 })).conversations).toHaveLength(samples.length + 1);
      });

      it("renames only while the title is still the expected one (a student's rename is never overwritten)", async () => {
        const user = await newUser();
        const conv = await store.createConversation(user.id, { teachingMode: "qa", title: "What is a heap?" });
        // The student renames it first; the improved title written after, expecting the old one, is refused.
        expect(await store.renameConversation(user.id, conv.id, "Heaps, my notes")).toBe(true);
        expect(await store.renameConversation(user.id, conv.id, "Binary heaps", "What is a heap?")).toBe(false);
        expect((await store.getConversationSummary(user.id, conv.id))?.title).toBe("Heaps, my notes");
        expect(await store.renameConversation(user.id, conv.id, "Heaps", "Heaps, my notes")).toBe(true);
        expect((await store.getConversationSummary(user.id, conv.id))?.title).toBe("Heaps");
      });

      it("renames (bumping updated_at) and deletes, deleting the messages with it", async () => {
        const user = await newUser();
        const conv = await store.createConversation(user.id, { teachingMode: "teacher", title: "old" });
        await store.addMessage(user.id, conv.id, { type: "user", content: "a" });
        const before = (await store.getConversationSummary(user.id, conv.id))!;
        await new Promise((r) => setTimeout(r, 5));
        expect(await store.renameConversation(user.id, conv.id, "new")).toBe(true);
        const after = (await store.getConversationSummary(user.id, conv.id))!;
        expect(after.title).toBe("new");
        expect(after.updated_at > before.updated_at).toBe(true);

        expect(await store.deleteConversation(user.id, conv.id)).toBe(true);
        expect(await store.getConversation(user.id, conv.id)).toBeUndefined();
        expect(await store.deleteConversation(user.id, conv.id)).toBe(false);
        const orphans = await kysely(store).selectFrom("messages").select("id").where("conversation_id", "=", conv.id).execute();
        expect(orphans).toEqual([]);
      });

      it("clears one mode in a transaction, leaves the other mode alone and creates a fresh conversation", async () => {
        const user = await newUser();
        const teacher = [];
        for (let i = 0; i < 3; i++) {
          const c = await store.createConversation(user.id, { teachingMode: "teacher", title: `t${i}` });
          await store.addMessage(user.id, c.id, { type: "user", content: "x" });
          teacher.push(c);
        }
        const qa = await store.createConversation(user.id, { teachingMode: "qa", title: "keep me" });
        const { deletedCount, conversation } = await store.clearConversations(user.id, "teacher", "New chat");
        expect(deletedCount).toBe(3);
        expect(conversation).toMatchObject({ title: "New chat", teaching_mode: "teacher", message_count: 0, last_message: null });
        const left = await store.listConversations(user.id, { limit: 10 });
        expect(left.conversations.map((c) => c.id).sort()).toEqual([qa.id, conversation.id].sort());
        const orphans = await kysely(store)
          .selectFrom("messages")
          .select("id")
          .where("conversation_id", "in", teacher.map((c) => c.id))
          .execute();
        expect(orphans).toEqual([]);
      });

      it("treats another user's conversation exactly like a missing one in every method", async () => {
        const owner = await newUser();
        const intruder = await newUser();
        const conv = await store.createConversation(owner.id, { teachingMode: "qa", title: "private" });
        await store.addMessage(owner.id, conv.id, { type: "user", content: "secret" });

        for (const id of [conv.id, "00000000-0000-7000-8000-000000000000"]) {
          expect(await store.getConversation(intruder.id, id)).toBeUndefined();
          expect(await store.getConversationSummary(intruder.id, id)).toBeUndefined();
          expect(await store.recentMessages(intruder.id, id, 10)).toEqual([]);
          expect(await store.addMessage(intruder.id, id, { type: "user", content: "injected" })).toBeUndefined();
          expect(await store.renameConversation(intruder.id, id, "pwned")).toBe(false);
          expect(await store.deleteConversation(intruder.id, id)).toBe(false);
        }
        expect(await store.findEmptyConversation(intruder.id, "qa")).toBeUndefined();
        expect(await store.latestConversation(intruder.id, "qa")).toBeUndefined();
        expect((await store.listConversations(intruder.id, { limit: 10 })).conversations).toEqual([]);
        expect((await store.clearConversations(intruder.id, "qa", "fresh")).deletedCount).toBe(0);

        const intact = await store.getConversation(owner.id, conv.id);
        expect(intact).toMatchObject({ title: "private", message_count: 1 });
        expect(intact!.messages.map((m) => m.content)).toEqual(["secret"]);
        expect((await store.listConversations(owner.id, { limit: 10 })).conversations.map((c) => c.id)).toEqual([conv.id]);
      });
    });

    describe("derived message count and last message", () => {
      /** What every read path must agree on, recomputed from the messages themselves. */
      async function truth(s: Store, conversationId: string) {
        const rows = await kysely(s)
          .selectFrom("messages")
          .select(["type", "content"])
          .where("conversation_id", "=", conversationId)
          .orderBy("created_at")
          .orderBy("id")
          .execute();
        const last = rows.at(-1);
        return { message_count: rows.length, last_message: last ? { type: last.type, content: last.content } : null };
      }

      async function expectExact(s: Store, userId: string, ids: string[]) {
        const listed = new Map((await s.listConversations(userId, { limit: 100 })).conversations.map((c) => [c.id, c]));
        for (const id of ids) {
          const want = await truth(s, id);
          expect(listed.get(id)).toMatchObject(want);
          expect(await s.getConversationSummary(userId, id)).toMatchObject(want);
          const full = await s.getConversation(userId, id);
          expect(full).toMatchObject(want);
          expect(full!.messages).toHaveLength(want.message_count);
        }
      }

      it("stay exact across many appends, a failed append, concurrent appends and a reopen", async () => {
        const options = await backend.options(true);
        let s = await createStore(options);
        try {
          const user = await s.createUser({ username: unique("count"), email: null, passwordHash: "h" });
          const convs = [];
          for (const mode of ["qa", "teacher", "qa"] as const) convs.push(await s.createConversation(user.id, { teachingMode: mode, title: mode }));
          const ids = convs.map((c) => c.id);
          await expectExact(s, user.id, ids);

          for (let i = 0; i < 60; i++) {
            // Uneven interleaving: the first conversation gets most messages, the last one only a few.
            const c = ids[i % 5 === 4 ? 2 : i % 3 === 2 ? 1 : 0]!;
            await s.addMessage(user.id, c, { type: i % 2 ? "ai" : "user", content: `m${i}` });
            if (i % 20 === 19) await expectExact(s, user.id, ids);
          }
          expect((await s.getConversationSummary(user.id, ids[0]!))?.message_count).toBeGreaterThan(30);
          expect(await s.findEmptyConversation(user.id, "qa")).toBeUndefined();

          // An append whose insert fails (an id already taken) leaves no trace in the counters.
          const taken = (await s.getConversation(user.id, ids[1]!))!.messages[0]!.id;
          const before = await s.getConversationSummary(user.id, ids[1]!);
          await expect(s.addMessage(user.id, ids[1]!, { id: taken, type: "ai", content: "duplicate" })).rejects.toThrow();
          expect(await s.getConversationSummary(user.id, ids[1]!)).toEqual(before);

          // Bursts of concurrent appends to one conversation (separate pool connections on
          // PostgreSQL) lose no count, and the last message stays the one listed last.
          const countBefore = (await truth(s, ids[2]!)).message_count;
          for (let burst = 0; burst < 4; burst++) {
            await Promise.all(Array.from({ length: 20 }, (_, k) => s.addMessage(user.id, ids[2]!, { type: "user", content: `burst ${burst}.${k}` })));
            await expectExact(s, user.id, [ids[2]!]);
          }
          expect((await truth(s, ids[2]!)).message_count).toBe(countBefore + 80);

          await s.close();
          s = await createStore(options);
          expect((await s.getConversationSummary(user.id, ids[2]!))?.message_count).toBe(countBefore + 80);
          await s.addMessage(user.id, ids[2]!, { type: "ai", content: "after reopen" });
          await s.addMessage(user.id, ids[1]!, { type: "ai", content: "after reopen too" });
          await expectExact(s, user.id, ids);
          expect((await s.getConversationSummary(user.id, ids[2]!))?.last_message).toEqual({ type: "ai", content: "after reopen" });

          // Deleting one conversation (its messages go by cascade) leaves the others' counters alone.
          await s.deleteConversation(user.id, ids[0]!);
          await expectExact(s, user.id, ids.slice(1));
        } finally {
          await s.close();
        }
      });

      it("are backfilled by migration 002 on a database written before it", async () => {
        const options = await backend.options(true);
        const { db, dialect } = connect(options);
        const user = "0190a0b0-0000-7000-8000-0000000000aa";
        const conv = (n: number) => `0190a0b0-0000-7000-8000-00000000c00${n}`;
        try {
          const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations(dialect) } });
          const { error } = await migrator.migrateTo("001_initial");
          expect(error).toBeUndefined();
          const created_at = "2025-01-01T00:00:00.000Z";
          await db
            .insertInto("users")
            .values({ id: user, username: unique("old"), email: null, password_hash: "h", created_at, last_login: null })
            .execute();
          // 1: empty; 2: one message; 3: many messages, inserted newest first, the newest two in the same millisecond.
          for (const n of [1, 2, 3]) {
            const updated_at = `2025-01-0${n + 1}T00:00:00.000Z`;
            await db
              .insertInto("conversations")
              .values({ id: conv(n), user_id: user, title: `old ${n}`, teaching_mode: "qa", created_at, updated_at })
              .execute();
          }
          const msg = (conversation: string, id: string, at: string, content: string) => ({
            id,
            conversation_id: conversation,
            type: "user" as const,
            content,
            model: null,
            created_at: at,
          });
          await db
            .insertInto("messages")
            .values([
              msg(conv(2), "0190a0b0-0000-7000-8000-000000000201", "2025-01-02T00:00:00.000Z", "only"),
              msg(conv(3), "0190a0b0-0000-7000-8000-000000000305", "2025-01-03T00:00:00.000Z", "tie, larger id: newest"),
              msg(conv(3), "0190a0b0-0000-7000-8000-000000000304", "2025-01-03T00:00:00.000Z", "tie, smaller id"),
              ...[1, 2, 3].map((k) => msg(conv(3), `0190a0b0-0000-7000-8000-00000000030${k}`, `2025-01-02T0${k}:00:00.000Z`, `older ${k}`)),
            ])
            .execute();
        } finally {
          await db.destroy();
        }

        const s = await createStore(options);
        try {
          const page = await s.listConversations(user, { limit: 10 });
          expect(page.conversations.map((c) => [c.id, c.message_count, c.last_message?.content ?? null])).toEqual([
            [conv(3), 5, "tie, larger id: newest"],
            [conv(2), 1, "only"],
            [conv(1), 0, null],
          ]);
          expect((await s.findEmptyConversation(user, "qa"))?.id).toBe(conv(1));
          expect(await s.latestConversation(user, "qa")).toMatchObject({ id: conv(3), message_count: 5 });
          await s.addMessage(user, conv(3), { type: "ai", content: "first after 002" });
          await s.addMessage(user, conv(1), { type: "user", content: "no longer empty" });
          expect(await s.getConversationSummary(user, conv(3))).toMatchObject({
            message_count: 6,
            last_message: { type: "ai", content: "first after 002" },
          });
          expect(await s.findEmptyConversation(user, "qa")).toBeUndefined();
        } finally {
          await s.close();
        }
      });

      if (name === "postgres")
        it("carry their owner from migration 006 on, for messages written before it and after", async () => {
        // The GIN step of a search keeps the student's matches by messages.user_id;
        // a walk of no recent messages (recentMessages 0) makes every search take it.
        const options = await backend.options(true);
        const { db, dialect } = connect(options);
        const ids = { user: "0190a0b0-0000-7000-8000-0000000006aa", conv: "0190a0b0-0000-7000-8000-0000000006c1" };
        try {
          const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations(dialect) } });
          expect((await migrator.migrateTo("005_limit_counters")).error).toBeUndefined();
          const at = "2025-01-01T00:00:00.000Z";
          await db.insertInto("users").values({ id: ids.user, username: unique("old"), email: null, password_hash: "h", created_at: at, last_login: null }).execute();
          await db.insertInto("conversations").values({ id: ids.conv, user_id: ids.user, title: "old", teaching_mode: "qa", created_at: at, updated_at: at }).execute();
          await db.insertInto("messages").values({ id: "0190a0b0-0000-7000-8000-000000000601", conversation_id: ids.conv, type: "user", content: "an old okapi", model: null, created_at: at }).execute();
        } finally {
          await db.destroy();
        }
        const s = await createStore(options);
        try {
          const index = accountMethods({ db: kysely(s), dialect: "postgres" }, { ...SEARCH_TUNING, recentMessages: 0 });
          const stranger = await s.createUser({ username: unique("stranger"), email: null, passwordHash: "h" });
          const theirs = await s.createConversation(stranger.id, { teachingMode: "qa", title: "theirs" });
          await s.addMessage(stranger.id, theirs.id, { type: "user", content: "their okapi" });
          const fresh = await s.addMessage(ids.user, ids.conv, { type: "ai", content: "a new okapi" });
          const hits = await index.searchMessages(ids.user, { query: "okapi", limit: 20 });
          expect(hits.map((h) => h.message_id)).toEqual([fresh!.id, "0190a0b0-0000-7000-8000-000000000601"]);
          expect((await index.searchMessages(stranger.id, { query: "okapi", limit: 20 })).map((h) => h.snippet)).toEqual(["their <mark>okapi</mark>"]);
        } finally {
          await s.close();
        }
      });
    });

    describe("listing", () => {
      // 53 conversations over both modes, each with i % 4 messages, touched in a shuffled order.
      let user: { id: string };
      const expected = new Map<string, { mode: string; count: number; last: string | null }>();

      beforeAll(async () => {
        user = await newUser();
        const convs = [];
        for (let i = 0; i < 53; i++) {
          const mode = i % 3 === 0 ? "qa" : "teacher";
          convs.push({ c: await store.createConversation(user.id, { teachingMode: mode, title: `c${i}` }), i, mode });
        }
        for (const { c, i, mode } of [...convs].sort((a, b) => ((a.i * 37) % 53) - ((b.i * 37) % 53))) {
          let last: string | null = null;
          for (let k = 0; k < i % 4; k++) {
            last = `${c.title} message ${k}`;
            await store.addMessage(user.id, c.id, { type: k % 2 ? "ai" : "user", content: last });
          }
          expected.set(c.id, { mode, count: i % 4, last });
        }
      });

      async function all(teachingMode?: "qa" | "teacher", limit = 7) {
        const seen = [];
        let cursor: string | undefined;
        let pages = 0;
        do {
          const page = await store.listConversations(user.id, { limit, cursor, teachingMode });
          expect(page.conversations.length).toBeLessThanOrEqual(limit);
          seen.push(...page.conversations);
          cursor = page.nextCursor ?? undefined;
          pages++;
        } while (cursor);
        return { seen, pages };
      }

      it("walks every page newest first with no duplicates or gaps, and correct counts and last messages", async () => {
        const { seen, pages } = await all();
        expect(pages).toBe(Math.ceil(53 / 7));
        expect(seen.map((c) => c.id).sort()).toEqual([...expected.keys()].sort());
        for (let i = 1; i < seen.length; i++) {
          const [a, b] = [seen[i - 1]!, seen[i]!];
          expect(a.updated_at > b.updated_at || (a.updated_at === b.updated_at && a.id > b.id)).toBe(true);
        }
        for (const c of seen) {
          const e = expected.get(c.id)!;
          expect(c.message_count).toBe(e.count);
          expect(c.last_message?.content ?? null).toBe(e.last);
        }
      });

      it("filters by mode across pages", async () => {
        for (const mode of ["qa", "teacher"] as const) {
          const { seen } = await all(mode, 5);
          const want = [...expected].filter(([, e]) => e.mode === mode).map(([id]) => id);
          expect(seen.map((c) => c.id).sort()).toEqual(want.sort());
          expect(seen.every((c) => c.teaching_mode === mode)).toBe(true);
        }
      });

      it("returns nextCursor null on an exactly full last page", async () => {
        const page = await store.listConversations(user.id, { limit: 53 });
        expect(page.conversations).toHaveLength(53);
        expect(page.nextCursor).toBeNull();
        expect((await store.listConversations(user.id, { limit: 52 })).nextCursor).not.toBeNull();
      });

      it("rejects a cursor it did not hand out", async () => {
        await expect(store.listConversations(user.id, { limit: 5, cursor: "not-a-cursor" })).rejects.toThrow(/cursor/);
      });

      it("plans every page as an index range scan plus a primary-key lookup per row, never counting messages or sorting", async () => {
        const db = kysely(store);
        const { nextCursor } = await store.listConversations(user.id, { limit: 5 });
        for (const options of [{ limit: 5 }, { limit: 5, cursor: nextCursor!, teachingMode: "qa" as const }]) {
          const plan = await explain(db, name, pageQuery(db, user.id, options));
          if (name === "sqlite") {
            expect(plan).toMatch(options.teachingMode ? /conversations_user_mode_updated/ : /conversations_user_updated/);
            expect(plan).toMatch(/SEARCH m USING INDEX sqlite_autoindex_messages_1 \(id=\?\)/);
            expect(plan).not.toMatch(/SCAN (m|c)\b|TEMP B-TREE|messages_conversation_created/);
          } else {
            expect(plan).toMatch(/Index (Only )?Scan.* on conversations/);
            expect(plan).toMatch(/Index Scan using messages_pkey/);
            expect(plan).not.toMatch(/Seq Scan on messages|Sort|messages_conversation_created|Aggregate/);
          }
        }
      });
    });
  });
}

/**
 * The plan of a compiled query. PostgreSQL picks sequential scans on tables
 * this small whatever the indexes, so there the question asked is whether
 * the indexes *can* serve the query: with scans and sorts priced out.
 */
async function explain(db: Kysely<Database>, dialect: string, query: CompiledQuery): Promise<string> {
  const plan = (conn: Kysely<Database>, prefix: string) =>
    conn.executeQuery<Record<string, unknown>>(CompiledQuery.raw(prefix + query.sql, [...query.parameters]));
  const { rows } =
    dialect === "sqlite"
      ? await plan(db, "explain query plan ")
      : await db.transaction().execute(async (tx) => {
          await sql`set local enable_seqscan = off`.execute(tx);
          await sql`set local enable_sort = off`.execute(tx);
          return plan(tx, "explain ");
        });
  return rows.map((r) => String(r.detail ?? r["QUERY PLAN"])).join("\n");
}
