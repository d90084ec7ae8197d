// The real process: SIGTERM lets a running answer finish, checkpoints the
// WAL and exits 0; a restart on the same DATA_DIR keeps accounts, tokens and
// conversations.
import { existsSync, statSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { behave, startFakeLlm, type FakeLlm } from "@tutor/testkit";
import { FAST_MODEL, MAIN_MODEL, startAppProcess } from "./test-helpers.js";

let fake: FakeLlm;
let dataDir: string;

const launch = () => startAppProcess(fake, { DATA_DIR: dataDir });

const json = async (url: string, init: RequestInit = {}, token?: string) => {
  const res = await fetch(url, {
    ...init,
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

beforeAll(async () => {
  fake = await startFakeLlm({ models: [MAIN_MODEL, FAST_MODEL] });
  fake.setDefault(FAST_MODEL, behave.reply("YES"));
  dataDir = await mkdtemp(join(tmpdir(), "tutor-restart-"));
});
afterAll(async () => {
  await fake?.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe("restart", () => {
  it("finishes the running answer on SIGTERM, exits 0, and keeps everything across a restart", async () => {
    const first = await launch();
    const reg = await json(`${first.url}/api/auth/register`, { method: "POST", body: JSON.stringify({ username: "persist", password: "keep me please" }) });
    const token = reg.body.token as string;
    const conv = (await json(`${first.url}/api/conversations`, { method: "POST", body: JSON.stringify({ teaching_mode: "qa" }) }, token)).body
      .conversation as { id: string };

    // An answer that takes ~1.5 s; SIGTERM arrives in the middle of it.
    const full = "Queues are first in, first out. ".repeat(30).trim();
    fake.script(MAIN_MODEL, behave.reply(full, { chunkDelayMs: 15 }));
    const turn = fetch(`${first.url}/api/conversations/${conv.id}/messages`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({ text: "What is a queue?" }),
    }).then((r) => r.text());
    await expect.poll(() => fake.calls(MAIN_MODEL)).toBe(1);
    first.kill("SIGTERM");
    const sse = await turn;
    expect((await first.exited).code).toBe(0);
    expect(sse).toContain("event: ai_response\n");
    expect(sse).toContain(JSON.stringify(full).slice(1, 40));
    expect(first.output()).toContain('"event":"stopped"');
    // The WAL was checkpointed into the main file.
    const wal = join(dataDir, "tutor.db-wal");
    expect(!existsSync(wal) || statSync(wal).size === 0).toBe(true);

    const second = await launch();
    try {
      // The same token still works: the generated secret and the token row were kept.
      const me = await json(`${second.url}/api/auth/me`, {}, token);
      expect(me.status).toBe(200);
      const got = await json(`${second.url}/api/conversations/${conv.id}`, {}, token);
      const messages = (got.body.conversation as { messages: { type: string; content: string }[] }).messages;
      expect(messages.map((m) => m.type)).toEqual(["user", "ai"]);
      expect(messages[1]!.content).toBe(full);
      const login = await json(`${second.url}/api/auth/login`, { method: "POST", body: JSON.stringify({ username: "persist", password: "keep me please" }) });
      expect(login.status).toBe(200);
    } finally {
      await second.stop();
    }
  });
});
