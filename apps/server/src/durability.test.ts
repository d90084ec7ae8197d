// Nothing acknowledged is lost, on the real process: kill -9 while many
// clients write leaves every acknowledged question (`user_message`) and every
// non-empty answer (`ai_response`) in storage after a restart, on SQLite and
// PostgreSQL; SIGTERM while an answer streams longer than the grace period
// stores what was said, marked interrupted, before the process exits.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FIXED_ANSWERS } from "@tutor/protocol";
import { behave, pgAvailable, startFakeLlm, startPostgres, type FakeLlm, type PgHandle } from "@tutor/testkit";
import { FAST_MODEL, MAIN_MODEL, startAppProcess, WsClient } from "./test-helpers.js";

const requirePg = process.env.REQUIRE_SERVICES === "1";
let fake: FakeLlm;
const dirs: string[] = [];

const launch = (dataDir: string, databaseUrl?: string) =>
  startAppProcess(fake, { DATA_DIR: dataDir, ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}) });

/** Every message id of a conversation, paging through it. */
async function storedIds(url: string, token: string, conversationId: string): Promise<Map<string, string>> {
  const all = new Map<string, string>();
  let before: string | undefined;
  for (;;) {
    const res = await fetch(`${url}/api/conversations/${conversationId}/messages?limit=200${before ? `&before=${before}` : ""}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const body = (await res.json()) as { messages: { id: string; content: string }[]; has_more: boolean };
    for (const m of body.messages) all.set(m.id, m.content);
    if (!body.has_more) return all;
    before = body.messages[0]!.id;
  }
}

beforeAll(async () => {
  fake = await startFakeLlm({ models: [MAIN_MODEL, FAST_MODEL] });
  fake.setDefault(FAST_MODEL, behave.reply("YES"));
});
afterAll(async () => {
  await fake?.close();
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

const backends = [
  { name: "sqlite", run: true },
  { name: "postgres", run: pgAvailable() || requirePg },
] as const;

for (const { name, run } of backends) {
  describe.skipIf(!run)(`durability on ${name}`, { timeout: 120_000 }, () => {
    let pg: PgHandle | undefined;
    beforeAll(async () => {
      if (name === "postgres") pg = await startPostgres();
    });
    afterAll(async () => {
      await pg?.stop();
    });

    it("keeps every acknowledged question and non-empty answer across kill -9 under many concurrent writers", async () => {
      const dataDir = await mkdtemp(join(tmpdir(), "tutor-kill9-"));
      dirs.push(dataDir);
      const first = await launch(dataDir, pg?.url);
      fake.setDefault(MAIN_MODEL, behave.reply("Short answers keep the writers busy.", { chunkDelayMs: 2 }));

      const WRITERS = 12;
      const acked: { token: string; conversationId: string; ids: Map<string, string> }[] = [];
      let running = true;
      const writers = Array.from({ length: WRITERS }, async (_, w) => {
        const c = await WsClient.connect(first.wsUrl);
        const reg = await c.request({ type: "auth_request", data: { type: "register", username: `writer${w}_${name}`, password: "correct horse battery" } });
        const token = reg.token as string;
        const created = await c.request({ type: "new_conversation", teaching_mode: "qa" }, "conversation_data");
        const mine = { token, conversationId: (created.conversation as { id: string }).id, ids: new Map<string, string>() };
        acked.push(mine);
        c.ws.on("message", (data, binary) => {
          if (binary) return;
          const m = JSON.parse(String(data)) as { type: string; message?: { id: string; content: string }; message_id?: string; text?: string };
          if (m.type === "user_message" && m.message) mine.ids.set(m.message.id, m.message.content);
          if (m.type === "ai_response" && m.message_id && m.text) mine.ids.set(m.message_id, m.text);
        });
        let n = 0;
        while (running && c.ws.readyState === c.ws.OPEN) {
          // Several questions in flight: a new one replaces the answer still running, which is stored too.
          c.send({ type: "text_input", text: `question ${w}.${n++}`, conversation_id: mine.conversationId, speak: false });
          await new Promise((r) => setTimeout(r, 15));
        }
      });
      // Killed in the middle of the writing, once plenty has been acknowledged.
      const count = () => acked.reduce((n, a) => n + a.ids.size, 0);
      for (let i = 0; i < 300 && count() < 80; i++) await new Promise((r) => setTimeout(r, 50));
      first.kill("SIGKILL");
      await first.exited;
      running = false;
      await Promise.allSettled(writers);

      const total = acked.reduce((n, a) => n + a.ids.size, 0);
      expect(total).toBeGreaterThan(50);
      const second = await launch(dataDir, pg?.url);
      try {
        for (const a of acked) {
          const stored = await storedIds(second.url, a.token, a.conversationId);
          const missing = [...a.ids.keys()].filter((id) => !stored.has(id));
          expect(missing).toEqual([]);
          for (const [id, content] of a.ids) expect(stored.get(id)).toBe(content);
        }
      } finally {
        await second.stop();
      }
    });

    it("stores what was said, marked interrupted, when SIGTERM comes during an answer longer than the grace period", async () => {
      const dataDir = await mkdtemp(join(tmpdir(), "tutor-sigterm-"));
      dirs.push(dataDir);
      const first = await launch(dataDir, pg?.url);
      const c = await WsClient.connect(first.wsUrl);
      const reg = await c.request({ type: "auth_request", data: { type: "register", username: `graceful_${name}`, password: "correct horse battery" } });
      const token = reg.token as string;
      // ~24 s of answer; the grace period is 10 s.
      const sentence = "Graphs are made of vertices and edges. ";
      fake.script(MAIN_MODEL, behave.reply(sentence.repeat(400), { chunkDelayMs: 60 }));
      c.send({ type: "text_input", text: "Teach me graphs very slowly", teaching_mode: "qa", request_id: "slow", speak: false });
      const delta = await c.waitFor((m) => m.type === "ai_response_delta", 15_000);
      const t0 = Date.now();
      first.kill("SIGTERM");
      expect((await first.exited).code).toBe(0);
      expect(Date.now() - t0).toBeLessThan(20_000);
      await c.closed;

      const second = await launch(dataDir, pg?.url);
      try {
        const stored = [...(await storedIds(second.url, token, delta.conversation_id as string)).values()];
        expect(stored).toHaveLength(2);
        const answer = stored[1]!;
        expect(answer.endsWith(FIXED_ANSWERS.interruptedNote)).toBe(true);
        const said = answer.slice(0, -FIXED_ANSWERS.interruptedNote.length);
        // Ten seconds of streaming were kept, not just the first words.
        expect(said.length).toBeGreaterThan(sentence.length * 10);
        expect(sentence.repeat(400).startsWith(said)).toBe(true);
      } finally {
        await second.stop();
      }
    });
  });
}
