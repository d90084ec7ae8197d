// What a student notices of a tutoring turn, end to end over /ws with the
// fake OpenAI-compatible server scripted to succeed, fail, stall and cut.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { TOPIC_REJECTION_TEXT, systemPrompt } from "@tutor/core";
import { behave, startFakeLlm, type FakeLlm } from "@tutor/testkit";
import { FAST_MODEL, MAIN_MODEL, WsClient, ask, signUp, startTestServer, type TestServer } from "./test-helpers.js";

let fake: FakeLlm;
let srv: TestServer;
let c: WsClient;

const YES = behave.compute((r) => (/title/i.test(JSON.stringify(r.messages)) ? "Some Title" : "YES"));

beforeAll(async () => {
  fake = await startFakeLlm({ models: [MAIN_MODEL, FAST_MODEL] });
});
afterAll(async () => {
  await fake?.close();
});
// A fresh server per test: the model chain remembers failing models across
// turns (by design), which would couple the tests.
beforeEach(async () => {
  fake.reset();
  fake.setDefault(FAST_MODEL, YES);
  srv = await startTestServer({ fake, configure: (cfg) => (cfg.turn.deadlineMs = 1500) });
  c = await WsClient.connect(srv.wsUrl);
  await signUp(c);
});
afterEach(async () => {
  await c.close();
  await srv.close();
});

const final = <T extends { type: string }>(msgs: T[]) => msgs.find((m) => m.type === "ai_response")!;
async function stored(conversationId: string) {
  const r = await c.request({ type: "get_conversation", conversation_id: conversationId }, "conversation_data");
  return (r.conversation as { messages: { type: string; content: string; model?: string }[] }).messages;
}

describe("a tutoring turn", () => {
  it("streams the answer in several deltas before the final message", async () => {
    fake.script(MAIN_MODEL, behave.reply("Arrays store items contiguously. Linked lists chain nodes with pointers.", { chunkDelayMs: 5 }));
    const msgs = await ask(c, { text: "array vs linked list?", teaching_mode: "qa" });
    const deltas = msgs.filter((m) => m.type === "ai_response_delta");
    expect(deltas.length).toBeGreaterThan(3);
    expect(msgs.indexOf(deltas[0]!)).toBeLessThan(msgs.indexOf(final(msgs)));
  });

  it("speaks the first sentence before the answer has finished", async () => {
    fake.script(MAIN_MODEL, behave.reply("A stack is last in, first out. " + "It supports push and pop in constant time. ".repeat(5), { chunkDelayMs: 5 }));
    const msgs = await ask(c, { text: "What is a stack data structure?", teaching_mode: "qa" });
    const firstTts = msgs.findIndex((m) => m.type === "web_tts");
    const lastDelta = msgs.map((m) => m.type).lastIndexOf("ai_response_delta");
    expect(firstTts).toBeGreaterThan(-1);
    expect(firstTts).toBeLessThan(lastDelta);
    const tts = msgs.filter((m) => m.type === "web_tts");
    expect(tts.map((m) => m.seq)).toEqual(tts.map((_, i) => i));
    expect(tts[0]!.text).toBe("A stack is last in, first out.");
  });

  it("does not speak when speak is false", async () => {
    fake.script(MAIN_MODEL, behave.reply("Quiet answer about queues."));
    const msgs = await ask(c, { text: "What is a queue?", speak: false, teaching_mode: "qa" });
    expect(msgs.some((m) => m.type === "web_tts" || m.type === "tts_starting")).toBe(false);
  });

  it("sends the teaching mode's system prompt, the history window and the sampling settings", async () => {
    fake.setDefault(MAIN_MODEL, behave.reply("ok."));
    let convId = "";
    for (let i = 0; i < 9; i++) {
      const msgs = await ask(c, { text: `question ${i} about sorting algorithms`, teaching_mode: "teacher", ...(convId ? { conversation_id: convId } : {}) });
      convId = final(msgs).conversation_id as string;
    }
    const last = fake.requests.filter((r) => r.model === MAIN_MODEL).at(-1)!;
    expect(last.messages[0]).toEqual({ role: "system", content: systemPrompt("teacher") });
    // 18 stored messages so far (9 questions, 8 answers before this one + the new question): the window is 15.
    expect(last.messages.length).toBe(16);
    expect(last.messages.at(-1)).toEqual({ role: "user", content: "question 8 about sorting algorithms" });
    expect(last.params).toMatchObject({ max_tokens: 2048, top_p: 0.9, frequency_penalty: 0.2, presence_penalty: 0.1 });
  });

  it("a hidden instruction reaches the model but is not stored or shown", async () => {
    fake.setDefault(MAIN_MODEL, behave.reply("Recursion means a function calls itself."));
    const first = await ask(c, { text: "Teach me recursion", teaching_mode: "teacher" });
    const convId = final(first).conversation_id as string;
    const msgs = await ask(c, { text: "Explain the term 'base case' in this context", hidden: true, conversation_id: convId });
    expect(msgs.some((m) => m.type === "user_message")).toBe(false);
    expect(fake.requests.at(-1)!.messages.at(-1)).toEqual({ role: "user", content: "Explain the term 'base case' in this context" });
    const types = (await stored(convId)).map((m) => m.type);
    expect(types).toEqual(["user", "ai", "ai"]);
  });

  it("rejects an off-topic question with the fixed text, stores it, and never calls the tutoring model", async () => {
    fake.setDefault(FAST_MODEL, behave.reply("NO"));
    const msgs = await ask(c, { text: "What's a good recipe for chocolate cake with buttercream frosting?", teaching_mode: "qa" });
    const answer = final(msgs);
    expect(answer).toMatchObject({ topic_rejected: true, text: TOPIC_REJECTION_TEXT });
    expect(msgs.some((m) => m.type === "web_tts")).toBe(true);
    expect(fake.calls(MAIN_MODEL)).toBe(0);
    const msgsStored = await stored(answer.conversation_id as string);
    expect(msgsStored.map((m) => m.content)).toEqual(["What's a good recipe for chocolate cake with buttercream frosting?", TOPIC_REJECTION_TEXT]);
  });

  it("a hidden off-topic instruction is rejected too", async () => {
    fake.setDefault(FAST_MODEL, behave.reply("NO"));
    const msgs = await ask(c, { text: "Tell me the latest celebrity gossip about football players", hidden: true, teaching_mode: "qa" });
    expect(final(msgs).topic_rejected).toBe(true);
    expect(fake.calls(MAIN_MODEL)).toBe(0);
  });

  it("falls back to the next model at once when the first fails, and stores which model answered", async () => {
    fake.script(MAIN_MODEL, behave.error(503));
    fake.setDefault(FAST_MODEL, behave.compute((r) => (r.stream ? "The fast model answers: a hash map maps keys to values." : "YES")));
    const msgs = await ask(c, { text: "What is a hash map?", teaching_mode: "qa" });
    const answer = final(msgs);
    expect(answer.model).toBe(FAST_MODEL);
    expect(answer.error).toBeUndefined();
    const s = await stored(answer.conversation_id as string);
    expect(s[1]).toMatchObject({ type: "ai", model: FAST_MODEL, content: answer.text });
  });

  it("answers with a stored error text when every model fails", async () => {
    fake.setDefault(MAIN_MODEL, behave.error(400, { message: "bad request" }));
    fake.setDefault(FAST_MODEL, behave.compute((r) => (r.stream ? behave.error(400) : "YES")));
    const msgs = await ask(c, { text: "What is a binary heap?", teaching_mode: "qa" });
    const answer = final(msgs);
    expect(answer.error).toBe(true);
    expect(String(answer.text)).toMatch(/try again/i);
    expect((await stored(answer.conversation_id as string))[1]!.content).toBe(answer.text);
  });

  it("keeps what was streamed when the stream is cut mid-answer, marked as interrupted", async () => {
    fake.script(MAIN_MODEL, behave.cut("Merge sort splits the list in halves and merges them back in order again.", 4));
    const msgs = await ask(c, { text: "How does merge sort work?", teaching_mode: "qa" });
    const answer = final(msgs);
    expect(answer.error).toBe(true);
    expect(String(answer.text)).toMatch(/^Merge sort splits/);
    expect(String(answer.text)).toMatch(/interrupted/i);
    expect((await stored(answer.conversation_id as string))[1]!.content).toBe(answer.text);
  });

  it("ends a stalled turn at the deadline with an error answer", async () => {
    fake.setDefault(MAIN_MODEL, behave.hang({ headers: true }));
    fake.setDefault(FAST_MODEL, behave.compute((r) => (r.stream ? behave.hang({ headers: true }) : "YES")));
    const started = Date.now();
    const msgs = await ask(c, { text: "What is a trie used for?", teaching_mode: "qa" }, 20_000);
    expect(final(msgs).error).toBe(true);
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it("cancel_response aborts the model request and stores what was said so far", async () => {
    fake.script(MAIN_MODEL, behave.reply("Graphs have vertices and edges. ".repeat(50), { chunkDelayMs: 20 }));
    const from = c.messages.length;
    c.send({ type: "text_input", text: "What is a graph in CS?", teaching_mode: "qa", request_id: "g" });
    await c.waitFor((m) => m.type === "ai_response_delta", 10_000, from);
    c.send({ type: "cancel_response" });
    const answer = await c.waitFor((m) => m.type === "ai_response" && m.request_id === "g", 10_000, from);
    expect(answer.cancelled).toBe(true);
    const req = fake.requests.find((r) => r.model === MAIN_MODEL)!;
    expect(await req.settled).toBe("client_closed");
    const s = await stored(answer.conversation_id as string);
    expect(s[1]!.content).toBe(answer.text);
    expect(String(answer.text).length).toBeGreaterThan(0);
  });

  it("a new question replaces an answer still streaming", async () => {
    fake.script(MAIN_MODEL, [behave.reply("Slow words. ".repeat(100), { chunkDelayMs: 20 }), behave.reply("Second answer about DNS.")]);
    const from = c.messages.length;
    c.send({ type: "text_input", text: "What is TCP?", teaching_mode: "qa", request_id: "first" });
    await c.waitFor((m) => m.type === "ai_response_delta" && m.request_id === "first", 10_000, from);
    const second = await ask(c, { text: "And what is DNS?", teaching_mode: "qa" });
    const firstAnswer = c.messages.find((m) => m.type === "ai_response" && m.request_id === "first")!;
    expect(firstAnswer.cancelled).toBe(true);
    expect(final(second).text).toBe("Second answer about DNS.");
  });
});

describe("without a model configured", () => {
  it("starts, says so in /api/config, and answers a turn with how to configure one", async () => {
    const bare = await startTestServer();
    try {
      const cfg = (await (await fetch(`${bare.url}/api/config`)).json()) as { llm: { configured: boolean; message: string } };
      expect(cfg.llm.configured).toBe(false);
      expect(cfg.llm.message).toMatch(/LLM_BASE_URL/);
      const w = await WsClient.connect(bare.wsUrl);
      await signUp(w);
      const msgs = await ask(w, { text: "What is an algorithm?", teaching_mode: "qa" });
      const answer = final(msgs);
      expect(answer.error).toBe(true);
      expect(String(answer.text)).toMatch(/GROQ_API_KEY/);
      await w.close();
    } finally {
      await bare.close();
    }
  });
});
