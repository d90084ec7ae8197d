// Bounded by construction: a conversation's messages come in pages (a keyset
// on (created_at, id) before a message id), and housekeeping prunes expired
// tokens and old login failures. On a real SQLite file and a real PostgreSQL.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NotFoundError, type Store } from "@tutor/core";
import { pgAvailable, startPostgres, type PgHandle } from "@tutor/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createStore } from "./index.js";

const requirePg = process.env.REQUIRE_SERVICES === "1";
const backends = [
  { name: "sqlite", run: true },
  { name: "postgres", run: pgAvailable() || requirePg },
] as const;

let seq = 0;
const unique = (prefix: string) => `${prefix}_${process.pid}_${Date.now().toString(36)}_${seq++}`;

for (const { name, run } of backends) {
  describe.skipIf(!run)(`paging and pruning on ${name}`, () => {
    let store: Store;
    let dir: string;
    let pg: PgHandle | undefined;

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), "tutor-paging-"));
      if (name === "postgres") pg = await startPostgres();
      store = await createStore({ dataDir: dir, databaseUrl: pg?.url });
    });
    afterAll(async () => {
      await store?.close();
      await pg?.stop();
      await rm(dir, { recursive: true, force: true });
    });

    const newUser = () => store.createUser({ username: unique("u"), email: null, passwordHash: "$argon2id$fake" });

    it("pages a 300-message conversation newest first without gaps or duplicates, each page oldest first", async () => {
      const user = await newUser();
      const conv = await store.createConversation(user.id, { teachingMode: "qa", title: "Long course" });
      const written: string[] = [];
      // Concurrent appends too: many land within one millisecond, so the id breaks ties.
      for (let i = 0; i < 300; i += 30) {
        const batch = await Promise.all(
          Array.from({ length: 30 }, (_, j) => store.addMessage(user.id, conv.id, { type: (i + j) % 2 ? "ai" : "user", content: `m${i + j}` })),
        );
        written.push(...batch.map((m) => m!.id));
      }
      const first = await store.getConversation(user.id, conv.id);
      expect(first!.messages).toHaveLength(100); // the default page
      expect(first!.message_count).toBe(300);
      expect(first!.has_more).toBe(true);

      const seen: string[] = [];
      let before: string | undefined;
      let pages = 0;
      for (;;) {
        const page = (await store.getConversation(user.id, conv.id, { limit: 70, before }))!;
        pages++;
        const stamps = page.messages.map((m) => `${m.timestamp}|${m.id}`);
        expect(stamps).toEqual([...stamps].sort()); // oldest first within the page
        seen.unshift(...page.messages.map((m) => m.id));
        if (!page.has_more) break;
        before = page.messages[0]!.id;
      }
      expect(pages).toBe(5); // 70 + 70 + 70 + 70 + 20
      expect(new Set(seen).size).toBe(300);
      // Stored order is (created_at, id) order; paging gives back exactly that order.
      const all = (await store.getConversation(user.id, conv.id, { limit: 300 }))!;
      expect(all.has_more).toBe(false);
      expect(seen).toEqual(all.messages.map((m) => m.id));
      expect([...seen].sort()).toEqual([...written].sort());
    });

    it("answers an exactly full last page with has_more false and a page before the oldest message as empty", async () => {
      const user = await newUser();
      const conv = await store.createConversation(user.id, { teachingMode: "qa", title: "Short" });
      for (let i = 0; i < 4; i++) await store.addMessage(user.id, conv.id, { type: "user", content: `q${i}` });
      const page = (await store.getConversation(user.id, conv.id, { limit: 4 }))!;
      expect(page.has_more).toBe(false);
      expect(page.messages.map((m) => m.content)).toEqual(["q0", "q1", "q2", "q3"]);
      const older = (await store.getConversation(user.id, conv.id, { limit: 2, before: page.messages[2]!.id }))!;
      expect(older.messages.map((m) => m.content)).toEqual(["q0", "q1"]);
      expect(older.has_more).toBe(false);
      const none = (await store.getConversation(user.id, conv.id, { limit: 5, before: page.messages[0]!.id }))!;
      expect(none.messages).toEqual([]);
      expect(none.has_more).toBe(false);
    });

    it("treats a cursor from another conversation, or another user's, as not found", async () => {
      const user = await newUser();
      const intruder = await newUser();
      const mine = await store.createConversation(user.id, { teachingMode: "qa", title: "Mine" });
      const other = await store.createConversation(user.id, { teachingMode: "qa", title: "Other" });
      const m = await store.addMessage(user.id, other.id, { type: "user", content: "elsewhere" });
      await expect(store.getConversation(user.id, mine.id, { limit: 10, before: m!.id })).rejects.toBeInstanceOf(NotFoundError);
      await expect(store.getConversation(user.id, mine.id, { limit: 10, before: "no-such-id" })).rejects.toBeInstanceOf(NotFoundError);
      expect(await store.getConversation(intruder.id, other.id, { limit: 10, before: m!.id })).toBeUndefined();
    });

    it("prunes tokens past their expiry (revoked or not) and keeps the valid ones", async () => {
      const user = await newUser();
      const [expired, revokedExpired, valid, revokedValid] = ["a", "b", "c", "d"].map((k) => unique(`jti_${k}`));
      await store.insertToken({ jti: expired!, userId: user.id, expiresAt: "2020-01-01T00:00:00.000Z" });
      await store.insertToken({ jti: revokedExpired!, userId: user.id, expiresAt: "2020-01-02T00:00:00.000Z" });
      await store.revokeToken(revokedExpired!, "2020-01-01T12:00:00.000Z");
      await store.insertToken({ jti: valid!, userId: user.id, expiresAt: "2040-01-01T00:00:00.000Z" });
      await store.insertToken({ jti: revokedValid!, userId: user.id, expiresAt: "2040-01-01T00:00:00.000Z" });
      await store.revokeToken(revokedValid!, "2030-01-01T00:00:00.000Z");

      expect(await store.pruneTokens("2030-06-01T00:00:00.000Z")).toBeGreaterThanOrEqual(2);
      expect(await store.findToken(expired!)).toBeUndefined();
      expect(await store.findToken(revokedExpired!)).toBeUndefined();
      expect(await store.findToken(valid!)).toBeDefined();
      // A revoked token is kept until it expires: it still says "this session has ended".
      expect((await store.findToken(revokedValid!))?.revoked_at).toBe("2030-01-01T00:00:00.000Z");
      expect(await store.pruneTokens("2030-06-01T00:00:00.000Z")).toBe(0);
    });

    it("prunes login failures older than the cut-off and keeps the recent ones", async () => {
      const key = unique("login");
      for (const at of ["2030-01-01T00:00:00.000Z", "2030-01-01T00:10:00.000Z", "2030-01-01T00:20:00.000Z"]) await store.recordLoginFailure(key, at);
      expect(await store.pruneLoginFailures("2030-01-01T00:15:00.000Z")).toBeGreaterThanOrEqual(2);
      expect(await store.loginFailures(key, "2000-01-01T00:00:00.000Z")).toEqual({ count: 1, oldest: "2030-01-01T00:20:00.000Z" });
    });
  });
}
