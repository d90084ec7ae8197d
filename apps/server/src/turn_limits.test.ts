// Per-user budgets over every carrier of one server: turns per hour and model
// tokens per day (the model's reported usage, else estimated from characters),
// and at most 2 turns running at once. The LLM is the local fake server.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { behave, requireSpeechTools, startFakeLlm, startFakeTts, ttsBehave, type FakeLlm } from "@tutor/testkit";
import { FAST_MODEL, MAIN_MODEL, WsClient, ask, signUp, startTestServer, type TestServer } from "./test-helpers.js";

let fake: FakeLlm;
beforeAll(async () => {
  fake = await startFakeLlm({ models: [MAIN_MODEL, FAST_MODEL] });
});
afterAll(async () => fake?.close());
afterEach(() => {
  fake.reset();
  fake.setDefault(FAST_MODEL, behave.reply("YES"));
});

const QUESTION = "How does a hash table handle collisions in Python dictionaries?";

async function sse(srv: TestServer, token: string, conversationId: string, text = QUESTION) {
  const res = await fetch(`${srv.url}/api/conversations/${conversationId}/messages`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ text }),
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

async function conversationOf(c: WsClient): Promise<string> {
  const r = await c.request({ type: "new_conversation", teaching_mode: "qa" }, "conversation_data");
  return (r.conversation as { id: string }).id;
}

describe("turns per hour", () => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startTestServer({ fake, env: { LIMIT_TURNS_PER_HOUR: "3" } });
  });
  afterAll(async () => srv?.close());

  it("holds across two connections and the SSE route, then answers rate_limited with retry_after_s (REST: 429 + Retry-After)", async () => {
    fake.setDefault(FAST_MODEL, behave.reply("YES"));
    const a = await WsClient.connect(srv.wsUrl);
    const b = await WsClient.connect(srv.wsUrl);
    try {
      const { token } = await signUp(a);
      await b.request({ type: "auth_request", data: { type: "verify", token } }, "auth_response");
      const convId = await conversationOf(a);

      const first = (await ask(a, { text: QUESTION, conversation_id: convId })).find((m) => m.type === "ai_response")!;
      expect(first.budget).toMatchObject({ turns_left: 2 });
      const second = (await ask(b, { text: QUESTION, conversation_id: convId })).find((m) => m.type === "ai_response")!;
      expect(second.budget).toMatchObject({ turns_left: 1 });
      const third = await sse(srv, token, convId);
      expect(third.status).toBe(200);
      expect(third.text).toContain('"turns_left":0');

      const from = a.messages.length;
      const refused = await a.request({ type: "text_input", text: QUESTION, conversation_id: convId }, "error");
      expect(refused).toMatchObject({ code: "rate_limited", limit: "turns_per_hour" });
      expect(refused.retry_after_s as number).toBeGreaterThan(3500);
      expect(refused.retry_after_s as number).toBeLessThanOrEqual(3600);
      // Nothing of the refused question was stored or sent.
      expect(a.messages.slice(from).filter((m) => m.type === "user_message")).toHaveLength(0);

      const rest = await sse(srv, token, convId);
      expect(rest.status).toBe(429);
      expect(Number(rest.headers.get("retry-after"))).toBeGreaterThan(3500);
      expect(JSON.parse(rest.text)).toMatchObject({ error: { code: "rate_limited", limit: "turns_per_hour" } });

      const stored = await a.request({ type: "get_conversation", conversation_id: convId }, "conversation_data");
      expect((stored.conversation as { messages: unknown[] }).messages).toHaveLength(6);
    } finally {
      await a.close();
      await b.close();
    }
  });
});

describe("tokens per day", () => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startTestServer({ fake, env: { LIMIT_TOKENS_PER_DAY: "1000", LIMIT_TURNS_PER_HOUR: "0" } });
  });
  afterAll(async () => srv?.close());

  it("counts the model's reported usage and refuses once the day's budget is spent", async () => {
    const c = await WsClient.connect(srv.wsUrl);
    try {
      await signUp(c);
      fake.script(MAIN_MODEL, [
        behave.reply("Collisions go to the next free slot.", { usage: { prompt_tokens: 600, completion_tokens: 150 } }),
        behave.reply("Open addressing probes.", { usage: { prompt_tokens: 300, completion_tokens: 100 } }),
      ]);
      const one = (await ask(c, { text: QUESTION, teaching_mode: "qa" })).find((m) => m.type === "ai_response")!;
      expect(one.budget).toMatchObject({ tokens_left: 250, turns_left: null });
      expect(fake.requests.find((r) => r.model === MAIN_MODEL)!.body.stream_options).toEqual({ include_usage: true });
      // 750 used < 1000: allowed; it spends 400 more (past the budget: a running answer is not cut off).
      const two = (await ask(c, { text: QUESTION })).find((m) => m.type === "ai_response")!;
      expect(two.budget).toMatchObject({ tokens_left: 0 });
      const refused = await c.request({ type: "text_input", text: QUESTION }, "error");
      expect(refused).toMatchObject({ code: "rate_limited", limit: "tokens_per_day" });
      expect(refused.retry_after_s as number).toBeGreaterThan(86_000);
    } finally {
      await c.close();
    }
  });

  it("counts the topic check's and the title's model calls (the fast model's reported usage) in the student's budget", async () => {
    const c = await WsClient.connect(srv.wsUrl);
    try {
      await signUp(c);
      // Tier 1 cannot tell "tell me about python": tier 2 asks the fast model; the first answer of a conversation gets a title.
      fake.script(FAST_MODEL, [
        behave.reply("YES", { usage: { prompt_tokens: 200, completion_tokens: 1 } }),
        behave.reply("Python Basics", { usage: { prompt_tokens: 40, completion_tokens: 4 } }),
      ]);
      fake.script(MAIN_MODEL, [
        behave.reply("Python is a programming language.", { usage: { prompt_tokens: 100, completion_tokens: 50 } }),
        behave.reply("A dict hashes its keys.", { usage: { prompt_tokens: 100, completion_tokens: 50 } }),
      ]);
      const one = (await ask(c, { text: "tell me about python", teaching_mode: "qa", new_conversation: true })).find((m) => m.type === "ai_response")!;
      expect(one.budget).toMatchObject({ tokens_left: 1000 - 150 - 201 });
      await c.waitFor((m) => m.type === "conversation_updated" && (m.conversation as { title: string }).title === "Python Basics");
      // The title came after the answer: counted on its own, before the next turn.
      const two = (await ask(c, { text: QUESTION })).find((m) => m.type === "ai_response")!;
      expect(two.budget).toMatchObject({ tokens_left: 1000 - 150 - 201 - 44 - 150 });
    } finally {
      await c.close();
    }
  });

  it("estimates from characters when the provider reports no usage", async () => {
    const c = await WsClient.connect(srv.wsUrl);
    try {
      await signUp(c);
      const answer = "x".repeat(400); // 100 tokens at 4 characters a token
      fake.script(MAIN_MODEL, behave.reply(answer, { chunks: [answer], usage: false }));
      const r = (await ask(c, { text: QUESTION, teaching_mode: "qa" })).find((m) => m.type === "ai_response")!;
      const prompt = fake.requests.find((q) => q.model === MAIN_MODEL)!.messages.reduce((n, m) => n + m.content.length, 0);
      expect(r.budget).toMatchObject({ tokens_left: 1000 - Math.ceil((prompt + 400) / 4) });
    } finally {
      await c.close();
    }
  });
});

describe.runIf(requireSpeechTools())("tokens per day, with the server voice still speaking", () => {
  it("counts an answer's tokens before its ai_response goes out: a question sent from another tab the moment it arrives is refused", async () => {
    // The answer's voice takes 1.5 s more after its text: the turn runs on after ai_response.
    const tts = await startFakeTts();
    tts.setDefault(ttsBehave.speak({ delayMs: 1_500 }));
    const srv = await startTestServer({
      fake,
      env: { LIMIT_TOKENS_PER_DAY: "1000", LIMIT_TURNS_PER_HOUR: "0", TTS_PROVIDER: "openai", TTS_BASE_URL: tts.url, TTS_MODEL: "kokoro" },
    });
    const a = await WsClient.connect(srv.wsUrl);
    const b = await WsClient.connect(srv.wsUrl);
    try {
      const { token } = await signUp(a);
      await b.request({ type: "auth_request", data: { type: "verify", token } }, "auth_response");
      fake.script(MAIN_MODEL, behave.reply("Collisions go to the next free slot.", { usage: { prompt_tokens: 900, completion_tokens: 150 } }));
      const answered = await a.request({ type: "text_input", text: QUESTION, teaching_mode: "qa" }, "ai_response", 15_000);
      expect(answered.budget).toMatchObject({ tokens_left: 0 });
      const refused = await b.request({ type: "text_input", text: QUESTION, teaching_mode: "qa" }, "error");
      expect(refused).toMatchObject({ code: "rate_limited", limit: "tokens_per_day" });
      // The first answer was still being spoken: its turn had not ended.
      expect(a.messages.some((m) => m.type === "tts_complete" && m.request_id === answered.request_id)).toBe(false);
    } finally {
      await a.close();
      await b.close();
      await srv.close();
      await tts.close();
    }
  });
});

describe("turns running at once", () => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startTestServer({ fake });
  });
  afterAll(async () => srv?.close());

  it("runs at most 2 turns of one user over all connections and SSE; a third is refused, and allowed once one ends", async () => {
    const clients = await Promise.all([0, 1, 2].map(() => WsClient.connect(srv.wsUrl)));
    try {
      const { token } = await signUp(clients[0]!);
      for (const c of clients.slice(1)) await c.request({ type: "auth_request", data: { type: "verify", token } }, "auth_response");
      const convs = await Promise.all(clients.map(conversationOf));
      fake.setDefault(MAIN_MODEL, behave.slow("A slow and careful answer.", 1500));

      const running = [ask(clients[0]!, { text: QUESTION, conversation_id: convs[0] }), ask(clients[1]!, { text: QUESTION, conversation_id: convs[1] })];
      await clients[0]!.waitFor((m) => m.type === "user_message");
      await clients[1]!.waitFor((m) => m.type === "user_message");
      const refused = await clients[2]!.request({ type: "text_input", text: QUESTION, conversation_id: convs[2] }, "error");
      expect(refused).toMatchObject({ code: "rate_limited", limit: "turns_running" });
      expect(refused.retry_after_s as number).toBeGreaterThan(0);
      const rest = await sse(srv, token, convs[2]!);
      expect(rest.status).toBe(429);

      await Promise.all(running);
      expect(fake.peakOpen).toBeLessThanOrEqual(2);
      fake.setDefault(MAIN_MODEL, behave.reply("Now it is your turn."));
      const after = (await ask(clients[2]!, { text: QUESTION, conversation_id: convs[2] })).find((m) => m.type === "ai_response")!;
      expect(after.text).toBe("Now it is your turn.");
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  });

  it("a new question on the same connection replaces the running one instead of being refused", async () => {
    const c = await WsClient.connect(srv.wsUrl);
    try {
      await signUp(c);
      fake.setDefault(MAIN_MODEL, behave.slow("Slow.", 1000));
      const convId = await conversationOf(c);
      const firsts = [c.request({ type: "text_input", text: QUESTION, conversation_id: convId }, "ai_response")];
      await c.waitFor((m) => m.type === "user_message");
      firsts.push(c.request({ type: "text_input", text: QUESTION, conversation_id: convId }, "ai_response"));
      await c.waitFor((m) => m.type === "user_message", 10_000, c.messages.findIndex((m) => m.type === "user_message") + 1);
      firsts.push(c.request({ type: "text_input", text: QUESTION, conversation_id: convId }, "ai_response"));
      const [a, b, last] = await Promise.all(firsts);
      expect(a).toMatchObject({ cancelled: true });
      expect(b).toMatchObject({ cancelled: true });
      expect(last!.text).toBe("Slow.");
      expect(c.messages.filter((m) => m.type === "error")).toHaveLength(0);
    } finally {
      await c.close();
    }
  });
});

describe("LIMIT_TURNS_RUNNING", () => {
  let one: TestServer;
  let off: TestServer;
  beforeAll(async () => {
    [one, off] = await Promise.all([
      startTestServer({ fake, env: { LIMIT_TURNS_RUNNING: "1" } }),
      startTestServer({ fake, env: { LIMIT_TURNS_RUNNING: "0" } }),
    ]);
  });
  afterAll(async () => Promise.all([one?.close(), off?.close()]));

  async function twoAtOnce(srv: TestServer) {
    const [a, b] = await Promise.all([WsClient.connect(srv.wsUrl), WsClient.connect(srv.wsUrl)]);
    try {
      const { token } = await signUp(a);
      await b.request({ type: "auth_request", data: { type: "verify", token } }, "auth_response");
      const [ca, cb] = await Promise.all([conversationOf(a), conversationOf(b)]);
      fake.setDefault(MAIN_MODEL, behave.slow("A slow and careful answer.", 1000));
      const running = ask(a, { text: QUESTION, conversation_id: ca });
      await a.waitFor((m) => m.type === "user_message");
      // The first reply says it: `error` refused, `user_message` admitted (then wait for its answer).
      const first = await b.request({ type: "text_input", text: QUESTION, conversation_id: cb });
      const second = first.type === "user_message" ? await b.waitFor((m) => m.type === "ai_response" && m.request_id === first.request_id) : first;
      await running;
      return second;
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  }

  it("1 refuses a second turn of the user while one runs; 0 lets every turn run", async () => {
    expect(await twoAtOnce(one)).toMatchObject({ type: "error", code: "rate_limited", limit: "turns_running" });
    expect(await twoAtOnce(off)).toMatchObject({ type: "ai_response", text: "A slow and careful answer." });
  });
});
