import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { LlmError, type ChatModel, type ChatRequest } from "@tutor/core";
import { behave, startFakeLlm, type FakeLlm } from "@tutor/testkit";
import { createOpenAIChatModel, parseRetryAfter } from "./openai-chat.js";
import { knownContextTokens } from "./context-windows.js";

const M = "llama-test";
let fake: FakeLlm;
let model: ChatModel;

beforeAll(async () => {
  fake = await startFakeLlm();
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => {
  fake.reset();
  model = createOpenAIChatModel({ baseURL: fake.url, model: M, apiKey: "sk-test", temperature: 0.7 });
});

const ask = (text: string, extra: Partial<ChatRequest> = {}): ChatRequest => ({
  messages: [
    { role: "system", content: "You are a tutor." },
    { role: "user", content: text },
  ],
  ...extra,
});

/** Drains a stream, keeping the deltas seen before any failure. */
async function drain(iter: AsyncIterable<string>): Promise<{ deltas: string[]; error?: LlmError }> {
  const deltas: string[] = [];
  try {
    for await (const d of iter) deltas.push(d);
    return { deltas };
  } catch (err) {
    expect(err).toBeInstanceOf(LlmError);
    return { deltas, error: err as LlmError };
  }
}

const signal = () => new AbortController().signal;

describe("streaming", () => {
  it("yields the answer as text deltas in order and sends the request settings", async () => {
    fake.script(M, behave.reply("A stack is last in, first out.", { chunks: ["A stack", " is last in,", " first out."] }));
    const { deltas, error } = await drain(
      model.stream(ask("What is a stack?", { maxTokens: 2048, topP: 0.9, frequencyPenalty: 0.2, presencePenalty: 0.1 }), signal()),
    );
    expect(error).toBeUndefined();
    expect(deltas).toEqual(["A stack", " is last in,", " first out."]);
    const req = fake.requests[0]!;
    expect(req.stream).toBe(true);
    expect(req.messages.at(-1)).toEqual({ role: "user", content: "What is a stack?" });
    expect(req.params).toEqual({
      max_tokens: 2048,
      temperature: 0.7,
      top_p: 0.9,
      frequency_penalty: 0.2,
      presence_penalty: 0.1,
    });
    expect(req.headers.authorization).toBe("Bearer sk-test");
  });

  it("lets the request's temperature win over the model's default and sends default headers", async () => {
    const m = createOpenAIChatModel({
      baseURL: fake.url,
      model: M,
      temperature: 0.7,
      defaultHeaders: { "x-tutor": "yes" },
    });
    await drain(m.stream(ask("hi", { temperature: 0.1 }), signal()));
    expect(fake.requests[0]!.params.temperature).toBe(0.1);
    expect(fake.requests[0]!.headers["x-tutor"]).toBe("yes");
  });

  it("waits for a slow first token that arrives within the timeout", async () => {
    fake.script(M, behave.slow("Recursion calls itself.", 60));
    const { deltas, error } = await drain(model.stream(ask("recursion?", { timeoutMs: 2_000 }), signal()));
    expect(error).toBeUndefined();
    expect(deltas.join("")).toBe("Recursion calls itself.");
  });

  it("times out when the first token is later than timeoutMs, and hangs up on the server", async () => {
    fake.script(M, behave.slow("too late", 5_000));
    const { deltas, error } = await drain(model.stream(ask("q", { timeoutMs: 60 }), signal()));
    expect(deltas).toEqual([]);
    expect(error?.kind).toBe("timeout");
    expect(error?.retryable).toBe(true);
    await expect(fake.requests[0]!.settled).resolves.toBe("client_closed");
  });

  it("times out when the model goes silent between tokens", async () => {
    fake.script(M, behave.reply("one two three four", { chunkDelayMs: 3_000 }));
    const { deltas, error } = await drain(model.stream(ask("q", { timeoutMs: 300 }), signal()));
    expect(deltas).toEqual(["one "]);
    expect(error?.kind).toBe("timeout");
    await expect(fake.requests[0]!.settled).resolves.toBe("client_closed");
  });

  it("does not count a slow consumer as the model being silent", async () => {
    fake.script(M, behave.reply("a b c"));
    const deltas: string[] = [];
    for await (const d of model.stream(ask("q", { timeoutMs: 150 }), signal())) {
      deltas.push(d);
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(deltas.join("")).toBe("a b c");
  });

  it("times out a request that never answers (no headers at all)", async () => {
    fake.script(M, behave.hang());
    const { error } = await drain(model.stream(ask("q", { timeoutMs: 60 }), signal()));
    expect(error?.kind).toBe("timeout");
    await expect(fake.requests[0]!.settled).resolves.toBe("client_closed");
  });

  it("times out a stream that sent its headers and then nothing", async () => {
    fake.script(M, behave.hang({ headers: true }));
    const { error } = await drain(model.stream(ask("q", { timeoutMs: 60 }), signal()));
    expect(error?.kind).toBe("timeout");
  });

  it("reports a stream cut mid-answer as bad_response after the text it did send", async () => {
    fake.script(M, behave.cut("Binary search halves the range each step.", 2));
    const { deltas, error } = await drain(model.stream(ask("q"), signal()));
    expect(deltas.join("")).toBe("Binary search ");
    expect(error?.kind).toBe("bad_response");
    expect(fake.requests[0]!.outcome).toBe("server_cut");
  });

  it("reports a stream that ends without finish_reason or [DONE] as bad_response", async () => {
    fake.script(M, behave.cut("Half an answer and then", 3, { mode: "end" }));
    const { deltas, error } = await drain(model.stream(ask("q"), signal()));
    expect(deltas.join("")).toBe("Half an answer ");
    expect(error?.kind).toBe("bad_response");
  });

  it("reports a garbage SSE event as bad_response", async () => {
    fake.script(M, behave.malformed({ textBefore: "Hello" }));
    const { deltas, error } = await drain(model.stream(ask("q"), signal()));
    expect(deltas).toEqual(["Hello"]);
    expect(error?.kind).toBe("bad_response");
  });

  it("reports an empty answer as bad_response", async () => {
    fake.script(M, behave.reply(""));
    const { error } = await drain(model.stream(ask("q"), signal()));
    expect(error?.kind).toBe("bad_response");
  });

  it("throws aborted when the caller aborts mid-answer, and the server sees the socket close", async () => {
    fake.script(M, behave.reply("one two three four five", { chunkDelayMs: 200 }));
    const ac = new AbortController();
    const deltas: string[] = [];
    let error: unknown;
    try {
      for await (const d of model.stream(ask("q"), ac.signal)) {
        deltas.push(d);
        ac.abort();
      }
    } catch (err) {
      error = err;
    }
    expect(deltas).toEqual(["one "]);
    expect(error).toBeInstanceOf(LlmError);
    expect((error as LlmError).kind).toBe("aborted");
    await expect(fake.requests[0]!.settled).resolves.toBe("client_closed");
  });

  it("throws aborted for a request the caller aborts while it hangs", async () => {
    fake.script(M, behave.hang());
    const ac = new AbortController();
    const pending = drain(model.stream(ask("q", { timeoutMs: 10_000 }), ac.signal));
    await waitFor(() => fake.requests.length === 1);
    ac.abort();
    const { error } = await pending;
    expect(error?.kind).toBe("aborted");
    await expect(fake.requests[0]!.settled).resolves.toBe("client_closed");
  });

  it("ends the HTTP request when the consumer stops reading early", async () => {
    fake.script(M, behave.reply("one two three four five", { chunkDelayMs: 200 }));
    for await (const d of model.stream(ask("q"), signal())) {
      expect(d).toBe("one ");
      break;
    }
    await expect(fake.requests[0]!.settled).resolves.toBe("client_closed");
  });
});

describe("failures mapped to LlmError kinds", () => {
  it("429 is rate_limited with Retry-After in seconds", async () => {
    fake.script(M, behave.error(429, { retryAfter: 7 }));
    const { error } = await drain(model.stream(ask("q"), signal()));
    expect(error?.kind).toBe("rate_limited");
    expect(error?.status).toBe(429);
    expect(error?.retryAfterMs).toBe(7_000);
  });

  it("429 honours an HTTP-date Retry-After and retry-after-ms", async () => {
    const at = new Date(Date.now() + 30_000).toUTCString();
    fake.script(M, [behave.error(429, { retryAfter: at }), behave.error(429, { retryAfterMs: 250, retryAfter: 9 })]);
    const first = await drain(model.stream(ask("q"), signal()));
    expect(first.error?.retryAfterMs).toBeGreaterThan(25_000);
    expect(first.error?.retryAfterMs).toBeLessThanOrEqual(30_000);
    await expect(model.complete(ask("q"), signal())).rejects.toMatchObject({ kind: "rate_limited", retryAfterMs: 250 });
  });

  it("429 without Retry-After leaves the wait to the chain", async () => {
    fake.script(M, behave.error(429));
    const { error } = await drain(model.stream(ask("q"), signal()));
    expect(error?.kind).toBe("rate_limited");
    expect(error?.retryAfterMs).toBeUndefined();
  });

  it.each([503, 500, 502])("%i is unavailable", async (status) => {
    fake.script(M, behave.error(status));
    const { error } = await drain(model.stream(ask("q"), signal()));
    expect(error?.kind).toBe("unavailable");
    expect(error?.status).toBe(status);
    expect(error?.retryable).toBe(true);
  });

  it("400 is a client_error and not retryable", async () => {
    fake.script(M, behave.error(400, { message: "context too long" }));
    const { error } = await drain(model.stream(ask("q"), signal()));
    expect(error?.kind).toBe("client_error");
    expect(error?.status).toBe(400);
    expect(error?.retryable).toBe(false);
    expect(error?.message).toContain("context too long");
  });

  it("a 400 context_length_exceeded is context_length, not retryable and not 'unreachable'", async () => {
    fake.script(M, behave.contextWindow(16, "never"));
    const { error } = await drain(model.stream(ask("a question that is far too long for sixteen tokens", { maxTokens: 8 }), signal()));
    expect(error?.kind).toBe("context_length");
    expect(error?.status).toBe(400);
    expect(error?.retryable).toBe(false);
    expect(error?.message).toMatch(/maximum context length is 16 tokens/);
  });

  it("servers that name the overflow only in the message (vLLM, llama.cpp, llama-cpp-python) are context_length too", async () => {
    for (const message of [
      "This model's maximum context length is 2048 tokens. However, you requested 2100 tokens.",
      "the request exceeds the available context size, try increasing it",
      "Requested tokens (3000) exceed context window of 2048",
    ]) {
      fake.script(M, behave.error(400, { message }));
      await expect(model.complete(ask("q"), signal())).rejects.toMatchObject({ kind: "context_length", status: 400 });
    }
  });

  it("reports the context window it was given", () => {
    expect(createOpenAIChatModel({ baseURL: fake.url, model: M, contextTokens: 2048 }).contextTokens).toBe(2048);
    expect(model.contextTokens).toBeUndefined();
  });

  it("knows the published window of well-known hosted models; LLM_CONTEXT_TOKENS (contextTokens) still wins", () => {
    const window = (name: string, contextTokens?: number) =>
      createOpenAIChatModel({ baseURL: fake.url, model: name, ...(contextTokens ? { contextTokens } : {}) }).contextTokens;
    // The README's Groq defaults hold 131,072 tokens, not the core's cautious 8192.
    expect(window("llama-3.3-70b-versatile")).toBe(131_072);
    expect(window("llama-3.1-8b-instant")).toBe(131_072);
    expect(window("gemma2-9b-it")).toBe(8192);
    expect(window("gpt-4o-mini")).toBe(128_000);
    // A dated snapshot is its family; case does not matter.
    expect(window("GPT-4o-2024-08-06")).toBe(128_000);
    expect(window("llama-3.3-70b-versatile", 4096)).toBe(4096);
    // A local server's model (Ollama tag) is not guessed: its window is the server's setting.
    expect(window("qwen2.5:7b")).toBeUndefined();
    expect(knownContextTokens("gpt-4o-mini-tts")).toBeUndefined();
  });

  it("an unknown model is a client_error (404)", async () => {
    const m = createOpenAIChatModel({ baseURL: fake.url, model: "no-such-model" });
    await expect(m.complete(ask("q"), signal())).rejects.toMatchObject({ kind: "client_error", status: 404 });
  });

  it("a refused connection is unavailable", async () => {
    const gone = await startFakeLlm({ models: [M] });
    const url = gone.url;
    await gone.close();
    const m = createOpenAIChatModel({ baseURL: url, model: M });
    const { error } = await drain(m.stream(ask("q"), signal()));
    expect(error?.kind).toBe("unavailable");
    await expect(m.complete(ask("q"), signal())).rejects.toMatchObject({ kind: "unavailable" });
  });
});

describe("complete", () => {
  it("returns the whole answer from a non-streamed request", async () => {
    fake.script(M, behave.compute((req) => `You asked: ${req.messages.at(-1)?.content}`));
    await expect(model.complete(ask("Is Python a language?"), signal())).resolves.toBe("You asked: Is Python a language?");
    expect(fake.requests[0]!.stream).toBe(false);
    expect(fake.calls(M)).toBe(1);
  });

  it("times out on the whole answer and hangs up", async () => {
    fake.script(M, behave.slow("late", 5_000));
    await expect(model.complete(ask("q", { timeoutMs: 60 }), signal())).rejects.toMatchObject({ kind: "timeout" });
    await expect(fake.requests[0]!.settled).resolves.toBe("client_closed");
  });

  it("maps malformed JSON, a body that breaks off and an empty answer to bad_response", async () => {
    fake.script(M, [behave.malformed(), behave.cut("A queue is first in, first out.", 1), behave.reply("  ")]);
    await expect(model.complete(ask("q"), signal())).rejects.toMatchObject({ kind: "bad_response" });
    await expect(model.complete(ask("q"), signal())).rejects.toMatchObject({ kind: "bad_response" });
    await expect(model.complete(ask("q"), signal())).rejects.toMatchObject({ kind: "bad_response" });
  });

  it("maps a connection dropped before any response to unavailable", async () => {
    fake.script(M, behave.cut("never sent", 0));
    await expect(model.complete(ask("q"), signal())).rejects.toMatchObject({ kind: "unavailable" });
  });

  it("throws aborted when the caller aborts, and the server sees the socket close", async () => {
    fake.script(M, behave.hang());
    const ac = new AbortController();
    const p = model.complete(ask("q"), ac.signal);
    await waitFor(() => fake.requests.length === 1);
    ac.abort();
    await expect(p).rejects.toMatchObject({ kind: "aborted" });
    await expect(fake.requests[0]!.settled).resolves.toBe("client_closed");
  });
});

describe("parseRetryAfter", () => {
  it("prefers retry-after-ms, then seconds, then an HTTP date; ignores junk", () => {
    const now = Date.parse("2026-01-01T00:00:00Z");
    expect(parseRetryAfter(new Headers({ "retry-after-ms": "1500", "retry-after": "9" }), now)).toBe(1500);
    expect(parseRetryAfter(new Headers({ "retry-after": "2.5" }), now)).toBe(2500);
    expect(parseRetryAfter(new Headers({ "retry-after": "Thu, 01 Jan 2026 00:00:10 GMT" }), now)).toBe(10_000);
    expect(parseRetryAfter(new Headers({ "retry-after": "Wed, 31 Dec 2025 00:00:10 GMT" }), now)).toBe(0);
    expect(parseRetryAfter(new Headers({ "retry-after": "soon" }), now)).toBeUndefined();
    expect(parseRetryAfter(new Headers(), now)).toBeUndefined();
  });
});

async function waitFor(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(cond()).toBe(true);
}

describe("token usage (onUsage)", () => {
  it("asks a stream for its usage and reports the final chunk's once", async () => {
    fake.script(M, behave.reply("Two words.", { usage: { prompt_tokens: 42, completion_tokens: 7 } }));
    const seen: unknown[] = [];
    const { deltas } = await drain(model.stream(ask("Hi", { onUsage: (u) => seen.push(u) }), signal()));
    expect(deltas.join("")).toBe("Two words.");
    expect(fake.requests[0]!.body.stream_options).toEqual({ include_usage: true });
    expect(seen).toEqual([{ promptTokens: 42, completionTokens: 7 }]);
  });

  it("reports nothing when the provider sends no usage", async () => {
    fake.script(M, behave.reply("No usage here.", { usage: false }));
    const seen: unknown[] = [];
    await drain(model.stream(ask("Hi", { onUsage: (u) => seen.push(u) }), signal()));
    expect(seen).toEqual([]);
  });

  it("reports a whole answer's usage", async () => {
    fake.script(M, behave.reply("Whole.", { usage: { prompt_tokens: 10, completion_tokens: 2 } }));
    const seen: unknown[] = [];
    await model.complete(ask("Hi", { onUsage: (u) => seen.push(u) }), signal());
    expect(seen).toEqual([{ promptTokens: 10, completionTokens: 2 }]);
  });
});
