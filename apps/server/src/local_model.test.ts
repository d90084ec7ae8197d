// The in-process model through the whole server: a real node-llama-cpp
// runtime with the test kit's tiny GGUF, real turns over /ws, the fallback
// chain with the fake cloud LLM in front, LOCAL_MODEL=auto against a fake hub.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { FALLBACK_ANSWER } from "@tutor/core";
import { DEFAULT_HUB_MODEL } from "@tutor/local-llm";
import { FIXED_ANSWERS } from "@tutor/protocol";
import { behave, startFakeHub, startFakeLlm, tinyGguf, writeTinyGguf, type FakeHub, type FakeLlm } from "@tutor/testkit";
import type { Config } from "./config.js";
import { FAST_MODEL, MAIN_MODEL, WsClient, ask, signUp, startTestServer, type TestServer } from "./test-helpers.js";

let dir: string;
let tiny: string;
let srv: TestServer | undefined;
let c: WsClient | undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "local-model-"));
  tiny = join(dir, "tiny.gguf");
  await writeTinyGguf(tiny);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
afterEach(async () => {
  await c?.close();
  await srv?.close();
  c = srv = undefined;
});

// One thread (two cores, shared), and short answers: the tiny model writes one byte a token.
const single = (cfg: Config, sequences = 2, maxTokens = 120) => {
  if (cfg.localModel.kind !== "off") Object.assign(cfg.localModel, { threads: 1, sequences });
  cfg.turn.maxTokens = maxTokens;
};

async function start(opts: { env?: Record<string, string>; fake?: FakeLlm; configure?: (cfg: Config) => void } = {}) {
  srv = await startTestServer({
    ...(opts.fake ? { fake: opts.fake } : {}),
    env: { LOCAL_MODEL: tiny, LLM_CONTEXT_TOKENS: "4096", ...opts.env },
    configure: (cfg) => {
      single(cfg);
      opts.configure?.(cfg);
    },
  });
  c = await WsClient.connect(srv.wsUrl);
  await signUp(c);
  return { srv, c };
}

async function config(s: TestServer) {
  return (await (await fetch(`${s.url}/api/config`)).json()) as { llm: { configured: boolean; models: string[]; message?: string; local?: { state: string; progress?: number; message?: string } } };
}
async function until<T>(fn: () => Promise<T>, ok: (v: T) => boolean, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (ok(v) || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 20));
  }
}
const final = (msgs: { type: string }[]) => msgs.find((m) => m.type === "ai_response") as Record<string, unknown>;

describe("LOCAL_MODEL=<path>", () => {
  it("answers a real turn with the local model, streamed, and /api/config names it", async () => {
    const { srv, c } = await start();
    const cfg = await until(() => config(srv), (v) => v.llm.local?.state === "ready");
    expect(cfg.llm).toMatchObject({ configured: true, provider: "local", models: ["tiny"], local: { state: "ready" } });
    const msgs = await ask(c, { text: "What is a linked list in Python?", teaching_mode: "qa" });
    const answer = final(msgs);
    expect(answer.error).toBeUndefined();
    expect(answer.model).toBe("tiny");
    expect((answer.text as string).length).toBeGreaterThan(20);
    expect(msgs.filter((m) => m.type === "ai_response_delta").length).toBeGreaterThan(1);
  });

  it("keeps the event loop free while generating: pings are answered before the answer ends", async () => {
    const { srv, c } = await start({ configure: (cfg) => single(cfg, 2, 600) });
    await until(() => config(srv), (v) => v.llm.local?.state === "ready");
    const from = c.messages.length;
    c.send({ type: "text_input", text: "Explain recursion in Python with an example.", teaching_mode: "qa", request_id: "long" });
    await c.waitFor((m) => m.type === "ai_response_delta", 20_000, from);
    for (let i = 0; i < 5; i++) {
      c.send({ type: "ping", request_id: `p${i}` });
      await c.waitFor((m) => m.type === "pong" && m.request_id === `p${i}`, 5_000, from);
    }
    const pongsAt = c.messages.map((m, i) => (m.type === "pong" ? i : -1)).filter((i) => i >= from);
    const answerAt = await c.waitFor((m) => m.type === "ai_response" && m.request_id === "long", 60_000, from).then((m) => c.messages.indexOf(m));
    expect(pongsAt).toHaveLength(5);
    // Every pong came while the model was still generating (deltas after it, the answer later).
    expect(Math.max(...pongsAt)).toBeLessThan(answerAt);
    const deltasAfter = c.messages.slice(Math.max(...pongsAt)).filter((m) => m.type === "ai_response_delta" && m.request_id === "long");
    expect(deltasAfter.length).toBeGreaterThan(0);
  });

  it("cancel_response stops the generation at once and keeps what was said", async () => {
    const { srv, c } = await start({ configure: (cfg) => single(cfg, 2, 3000) });
    await until(() => config(srv), (v) => v.llm.local?.state === "ready");
    const from = c.messages.length;
    c.send({ type: "text_input", text: "Explain sorting algorithms in Java.", teaching_mode: "qa", request_id: "t" });
    await c.waitFor((m) => m.type === "ai_response_delta", 20_000, from);
    c.send({ type: "cancel_response" });
    const answer = await c.waitFor((m) => m.type === "ai_response" && m.request_id === "t", 5_000, from);
    expect(answer.cancelled).toBe(true);
    expect((answer.text as string).length).toBeGreaterThan(0);
    // The 3000-token answer was cut well short.
    expect((answer.text as string).length).toBeLessThan(1500);
  });

  it("a turn waiting for a busy model past the turn's deadline ends instead of waiting forever", async () => {
    const { srv, c } = await start({
      configure: (cfg) => {
        single(cfg, 1, 3000);
        cfg.turn.deadlineMs = 300;
      },
    });
    await until(() => config(srv), (v) => v.llm.local?.state === "ready");
    const other = await WsClient.connect(srv.wsUrl);
    try {
      await signUp(other);
      other.send({ type: "text_input", text: "Explain hash tables in C.", teaching_mode: "qa", request_id: "busy" });
      await other.waitFor((m) => m.type === "ai_response_delta", 20_000);
      const answer = final(await ask(c, { text: "What is a queue in Python?", teaching_mode: "qa" }, 10_000));
      expect(answer.error).toBe(true);
      expect(answer.text).toBe(FALLBACK_ANSWER);
      other.send({ type: "cancel_response" });
      await other.waitFor((m) => m.type === "ai_response" && m.request_id === "busy", 10_000);
    } finally {
      await other.close();
    }
  });
});

describe("the local model as the last link of the chain", () => {
  let fake: FakeLlm;
  beforeAll(async () => {
    fake = await startFakeLlm({ models: [MAIN_MODEL, FAST_MODEL] });
  });
  afterAll(async () => {
    await fake.close();
  });

  it("answers when every cloud model fails", async () => {
    fake.reset();
    fake.setDefault(MAIN_MODEL, behave.error(503));
    fake.setDefault(FAST_MODEL, behave.compute((r) => (r.stream ? behave.error(503) : "YES")));
    const { srv, c } = await start({ fake });
    const cfg = await until(() => config(srv), (v) => v.llm.local?.state === "ready");
    expect(cfg.llm.models).toEqual([MAIN_MODEL, FAST_MODEL, "tiny"]);
    const answer = final(await ask(c, { text: "What is a binary tree in Python?", teaching_mode: "qa" }));
    expect(answer.model).toBe("tiny");
    expect(answer.error).toBeUndefined();
  });

  it("a file that is not GGUF: the log-worthy message in /api/config and the answer, the server runs on and the cloud still answers", async () => {
    const notes = join(dir, "notes.gguf");
    await writeFile(notes, "not a model at all");
    fake.reset();
    fake.setDefault(FAST_MODEL, behave.reply("YES"));
    fake.setDefault(MAIN_MODEL, behave.reply("A stack is last in, first out."));
    const { srv, c } = await start({ fake, env: { LOCAL_MODEL: notes }, configure: (cfg) => (cfg.turn.deadlineMs = 1500) });
    const cfg = await until(() => config(srv), (v) => v.llm.local?.state === "failed");
    expect(cfg.llm.local?.message).toMatch(/notes\.gguf is not a GGUF model file/);
    expect(final(await ask(c, { text: "What is a stack in Java?", teaching_mode: "qa" })).text).toBe("A stack is last in, first out.");
    // With the cloud down too, the student is told what is wrong with the local model.
    fake.setDefault(MAIN_MODEL, behave.error(503));
    fake.setDefault(FAST_MODEL, behave.compute((r) => (r.stream ? behave.error(503) : "YES")));
    const failed = final(await ask(c, { text: "What is a heap in Java?", teaching_mode: "qa", new_conversation: true }));
    expect(failed.error).toBe(true);
    expect(failed.text).toMatch(new RegExp(`^${FIXED_ANSWERS.localModelFailedPrefix.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}.*not a GGUF model file`));
  });
});

describe("LOCAL_MODEL=auto (the default with nothing else configured)", () => {
  let hub: FakeHub;
  beforeAll(async () => {
    hub = await startFakeHub();
    hub.add(DEFAULT_HUB_MODEL.repo, DEFAULT_HUB_MODEL.file, tinyGguf({ embedding: 128 }));
  });
  afterAll(async () => {
    await hub.close();
  });

  it("downloads the default model into DATA_DIR/models, shows progress, answers 'getting ready' meanwhile, then tutors", async () => {
    hub.throttleMs = 20;
    srv = await startTestServer({
      env: { LOCAL_MODEL: "" }, // unset: the default applies
      configure: (cfg) => {
        expect(cfg.localModel.kind).toBe("auto");
        if (cfg.localModel.kind === "auto") Object.assign(cfg.localModel, { hubEndpoint: hub.url, threads: 1 });
        cfg.turn.maxTokens = 120;
      },
    });
    c = await WsClient.connect(srv.wsUrl);
    await signUp(c);
    const during = await until(() => config(srv!), (v) => (v.llm.local?.progress ?? 0) > 0);
    expect(during.llm.message).toMatch(/^Preparing the tutor's model: \d+%$/);
    const waiting = final(await ask(c, { text: "What is a variable in Python?", teaching_mode: "qa" }));
    expect(waiting.error).toBe(true);
    expect(waiting.text).toMatch(/^The tutor is getting ready: (downloading its model \(\d+%\)|loading its model)/);
    hub.throttleMs = 0;
    await until(() => config(srv!), (v) => v.llm.local?.state === "ready");
    const answer = final(await ask(c, { text: "What is a variable in Python?", teaching_mode: "qa", new_conversation: true }));
    expect(answer.error).toBeUndefined();
    expect(answer.model).toBe(DEFAULT_HUB_MODEL.file.replace(/\.gguf$/, ""));
  });
});
