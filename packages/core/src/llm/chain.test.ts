// The chain end to end: real adapter, real HTTP, a scripted fake server.
// Delays are tens of milliseconds through options; the clock is skewable so
// "come back after Retry-After" needs no real waiting.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createOpenAIChatModel } from "@tutor/llm";
import { behave, startFakeLlm, type FakeLlm } from "@tutor/testkit";
import { LlmError } from "../errors.js";
import type { ChatRequest } from "../ports.js";
import { ChainError, ModelChain, type ChainDelta, type ModelChainOptions } from "./chain.js";

const A = "model-a";
const B = "model-b";
const C = "model-c";
let fake: FakeLlm;
let skew = 0;
const clock = { now: () => Date.now() + skew };

beforeAll(async () => {
  fake = await startFakeLlm();
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => {
  fake.reset();
  skew = 0;
  for (const m of [A, B, C]) fake.setDefault(m, behave.reply(`answer from ${m}`));
});

const FAST: ModelChainOptions = {
  attemptTimeoutMs: 300,
  deadlineMs: 5_000,
  retryDelaysMs: { timeout: [20, 40, 80], rate_limited: [50, 100, 200], unavailable: [30, 60, 120] },
  breakerThreshold: 3,
  breakerCooldownMs: 10_000,
  random: () => 0.5, // no jitter unless a test says otherwise
  clock,
};

function chainOf(names: string[], options: ModelChainOptions = {}): ModelChain {
  const models = names.map((model) => createOpenAIChatModel({ baseURL: fake.url, model }));
  return new ModelChain(models, { ...FAST, ...options });
}

const request: ChatRequest = { messages: [{ role: "user", content: "What is a linked list?" }] };

async function turn(
  chain: ModelChain,
  opts: { signal?: AbortSignal; deadlineMs?: number } = {},
): Promise<{ text: string; model: string | undefined; error?: ChainError }> {
  let text = "";
  let model: string | undefined;
  try {
    const parts: AsyncIterable<ChainDelta> = chain.stream(request, {
      signal: opts.signal ?? new AbortController().signal,
      ...(opts.deadlineMs !== undefined ? { deadlineMs: opts.deadlineMs } : {}),
    });
    for await (const p of parts) {
      text += p.delta;
      model = p.model;
    }
    return { text, model };
  } catch (err) {
    expect(err).toBeInstanceOf(ChainError);
    return { text, model, error: err as ChainError };
  }
}

const healthOf = (chain: ModelChain, name: string) => chain.health().find((h) => h.model === name)!;

describe("falling back to the next model", () => {
  it("moves on at once after a 429 and does not come back before Retry-After", async () => {
    const chain = chainOf([A, B]);
    fake.script(A, behave.error(429, { retryAfter: 2 }));
    const first = await turn(chain);
    expect(first).toMatchObject({ text: `answer from ${B}`, model: B });
    expect(fake.calls(A)).toBe(1);
    // random() = 0.5 lengthens Retry-After by 10 %; it is never shortened.
    expect(healthOf(chain, A).availableAt - clock.now()).toBeGreaterThan(2_000);

    // Later turns skip A until its Retry-After has passed...
    skew = 1_900;
    expect((await turn(chain)).model).toBe(B);
    expect(fake.calls(A)).toBe(1);
    // ...and then come back to it first.
    skew = 2_300;
    expect((await turn(chain)).model).toBe(A);
    expect(fake.calls(A)).toBe(2);
  });

  it("falls back on 503 and backs off A by the unavailable schedule with ±20 % jitter", async () => {
    const low = chainOf([A, B], { retryDelaysMs: { unavailable: [1_000] }, random: () => 0 });
    fake.script(A, behave.error(503));
    expect((await turn(low)).model).toBe(B);
    const lowWait = healthOf(low, A).availableAt - clock.now();
    expect(lowWait).toBeGreaterThan(700);
    expect(lowWait).toBeLessThanOrEqual(800);

    const high = chainOf([A, B], { retryDelaysMs: { unavailable: [1_000] }, random: () => 0.999 });
    fake.script(A, behave.error(503));
    expect((await turn(high)).model).toBe(B);
    const highWait = healthOf(high, A).availableAt - clock.now();
    expect(highWait).toBeGreaterThan(1_100);
    expect(highWait).toBeLessThanOrEqual(1_200);
  });

  it("falls back when the first token is too slow, and hangs up on the slow model", async () => {
    const chain = chainOf([A, B]);
    fake.script(A, behave.slow("too late", 5_000));
    expect(await turn(chain)).toMatchObject({ text: `answer from ${B}`, model: B });
    await expect(fake.requests.find((r) => r.model === A)!.settled).resolves.toBe("client_closed");
  });

  it("falls back when a model never answers", async () => {
    const chain = chainOf([A, B]);
    fake.script(A, behave.hang());
    expect((await turn(chain)).model).toBe(B);
    expect(chain.health()[0]!.consecutiveFailures).toBe(1);
  });

  it("falls back when the stream breaks before any text, without retrying that model this turn", async () => {
    const chain = chainOf([A, B]);
    fake.script(A, behave.cut("never shown", 0));
    fake.script(B, behave.error(503));
    // B fails retryably and comes back after 30 ms; A (bad_response) is not asked again.
    const r = await turn(chain);
    expect(r.model).toBe(B);
    expect(fake.calls(A)).toBe(1);
    expect(fake.calls(B)).toBe(2);
  });

  it("falls back past a client error, which does not count against the model", async () => {
    const chain = chainOf([A, B]);
    fake.script(A, behave.error(400));
    expect((await turn(chain)).model).toBe(B);
    expect(healthOf(chain, A)).toMatchObject({ consecutiveFailures: 0, availableAt: 0, state: "closed" });
  });

  it("retries the only model after its backoff when nothing else can answer", async () => {
    const chain = chainOf([A]);
    fake.script(A, [behave.error(503), behave.error(429, { retryAfterMs: 40 })]);
    const r = await turn(chain);
    expect(r).toMatchObject({ text: `answer from ${A}`, model: A });
    expect(fake.calls(A)).toBe(3);
  });

  it("works the same for complete()", async () => {
    const chain = chainOf([A, B]);
    fake.script(A, behave.error(503));
    fake.script(B, behave.compute((req) => (req.messages.at(-1)?.content.includes("linked list") ? "YES" : "NO")));
    await expect(chain.complete(request, { signal: new AbortController().signal })).resolves.toEqual({
      text: "YES",
      model: B,
    });
    expect(fake.requests.at(-1)!.stream).toBe(false);
  });
});

describe("giving up", () => {
  it("never switches models mid-answer: a cut stream ends the turn with the partial text", async () => {
    const chain = chainOf([A, B]);
    fake.script(A, behave.cut("Arrays are contiguous in memory.", 2));
    const r = await turn(chain);
    expect(r.text).toBe("Arrays are ");
    expect(r.error).toMatchObject({ reason: "interrupted", partialText: "Arrays are ", model: A });
    expect(r.error!.attempts).toEqual([{ model: A, kind: "bad_response" }]);
    expect(fake.calls(B)).toBe(0);
  });

  it("reports every attempt when all models fail for good", async () => {
    const chain = chainOf([A, B]);
    fake.script(A, behave.error(400));
    fake.script(B, behave.malformed());
    const r = await turn(chain);
    expect(r.error?.reason).toBe("exhausted");
    expect(r.error?.code).toBe("llm_unavailable");
    expect(r.error?.attempts).toEqual([
      { model: A, kind: "client_error", status: 400 },
      { model: B, kind: "bad_response" },
    ]);
  });

  it("stops after the per-model attempt limit", async () => {
    const chain = chainOf([A], { maxAttemptsPerModel: 3, breakerThreshold: 10 });
    fake.setDefault(A, behave.error(503));
    const r = await turn(chain);
    expect(r.error?.reason).toBe("exhausted");
    expect(fake.calls(A)).toBe(3);
  });

  it("ends a turn that would stall at its deadline, hanging up on the model", async () => {
    const chain = chainOf([A, B], { attemptTimeoutMs: 10_000 });
    fake.script(A, behave.hang());
    const r = await turn(chain, { deadlineMs: 150 });
    expect(r.error?.reason).toBe("deadline");
    expect(r.error?.attempts).toEqual([{ model: A, kind: "timeout" }]);
    await expect(fake.requests[0]!.settled).resolves.toBe("client_closed");
    // The deadline is the turn's fault, not A's: A is not backed off for it.
    expect(healthOf(chain, A).consecutiveFailures).toBe(0);
  });

  it("fails at once when no model can be asked again before the deadline", async () => {
    const chain = chainOf([A, B]);
    fake.script(A, behave.error(429, { retryAfter: 60 }));
    fake.script(B, behave.error(429, { retryAfter: 60 }));
    const r = await turn(chain, { deadlineMs: 2_000 });
    expect(r.error?.reason).toBe("deadline");
    expect(fake.calls(A) + fake.calls(B)).toBe(2);
    // The next turn does not even call them.
    const again = await turn(chain, { deadlineMs: 2_000 });
    expect(again.error?.reason).toBe("deadline");
    expect(again.error?.attempts).toEqual([]);
    expect(fake.calls(A) + fake.calls(B)).toBe(2);
  });
});

describe("cancelling", () => {
  it("aborting cancels the in-flight HTTP request", async () => {
    const chain = chainOf([A, B], { attemptTimeoutMs: 10_000 });
    fake.script(A, behave.hang());
    const ac = new AbortController();
    const pending = turn(chain, { signal: ac.signal });
    while (fake.requests.length === 0) await new Promise((r) => setTimeout(r, 5));
    ac.abort();
    const r = await pending;
    expect(r.error?.reason).toBe("aborted");
    await expect(fake.requests[0]!.settled).resolves.toBe("client_closed");
    expect(fake.calls(B)).toBe(0);
  });

  it("aborting mid-answer keeps the partial text", async () => {
    const chain = chainOf([A]);
    fake.script(A, behave.reply("one two three", { chunkDelayMs: 40 }));
    const ac = new AbortController();
    let text = "";
    let error: unknown;
    try {
      for await (const p of chain.stream(request, { signal: ac.signal })) {
        text += p.delta;
        ac.abort();
      }
    } catch (err) {
      error = err;
    }
    expect(text).toBe("one ");
    expect(error).toMatchObject({ reason: "aborted", partialText: "one ", model: A });
    await expect(fake.requests[0]!.settled).resolves.toBe("client_closed");
  });

  it("aborting while every model cools down ends the wait", async () => {
    const chain = chainOf([A]);
    fake.script(A, behave.error(429, { retryAfter: 3 }));
    const ac = new AbortController();
    const pending = turn(chain, { signal: ac.signal, deadlineMs: 30_000 });
    while (fake.calls(A) === 0) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 30));
    ac.abort();
    const r = await pending;
    expect(r.error?.reason).toBe("aborted");
    expect(fake.calls(A)).toBe(1);
  });

  it("a consumer that stops reading ends the model's request", async () => {
    const chain = chainOf([A]);
    fake.script(A, behave.reply("one two three", { chunkDelayMs: 100 }));
    for await (const p of chain.stream(request, { signal: new AbortController().signal })) {
      expect(p.delta).toBe("one ");
      break;
    }
    await expect(fake.requests[0]!.settled).resolves.toBe("client_closed");
  });
});

describe("circuit breaker", () => {
  it("opens after consecutive failures, skips the model, then lets one probe through", async () => {
    const chain = chainOf([A, B], { breakerThreshold: 3, breakerCooldownMs: 5_000 });
    fake.setDefault(A, behave.error(503));
    // Three turns, each: A fails, B answers. Step past A's short backoff between turns.
    for (let i = 0; i < 3; i++) {
      expect((await turn(chain)).model).toBe(B);
      skew += 500;
    }
    expect(fake.calls(A)).toBe(3);
    expect(healthOf(chain, A)).toMatchObject({ state: "open", consecutiveFailures: 3 });

    // Open: A is skipped entirely.
    expect((await turn(chain)).model).toBe(B);
    expect(fake.calls(A)).toBe(3);

    // After the cooldown one probe goes to A; it fails, so the breaker opens again.
    skew += 5_000;
    expect(healthOf(chain, A).state).toBe("half_open");
    expect((await turn(chain)).model).toBe(B);
    expect(fake.calls(A)).toBe(4);
    expect(healthOf(chain, A).state).toBe("open");

    // Next probe succeeds and closes it.
    skew += 5_500;
    fake.setDefault(A, behave.reply("answer from model-a"));
    expect((await turn(chain)).model).toBe(A);
    expect(healthOf(chain, A)).toMatchObject({ state: "closed", consecutiveFailures: 0 });
  });

  it("sends only one probe while other turns run at the same time", async () => {
    const chain = chainOf([A, B], { breakerThreshold: 1, breakerCooldownMs: 1_000, attemptTimeoutMs: 2_000 });
    fake.script(A, behave.error(503));
    expect((await turn(chain)).model).toBe(B);
    expect(healthOf(chain, A).state).toBe("open");
    skew += 1_500;
    fake.script(A, behave.slow("probe answer", 100));
    const results = await Promise.all([turn(chain), turn(chain), turn(chain)]);
    expect(results.map((r) => r.model).sort()).toEqual([A, B, B]);
    expect(fake.calls(A)).toBe(2);
  });
});

describe("configuration", () => {
  it("rejects an empty or duplicated model list and bad settings", () => {
    expect(() => new ModelChain([])).toThrow(/at least one model/);
    const a = createOpenAIChatModel({ baseURL: fake.url, model: A });
    expect(() => new ModelChain([a, a])).toThrow(/model-a twice/);
    expect(() => new ModelChain([a], { jitter: 1.5 })).toThrow(/jitter/);
    expect(() => new ModelChain([a], { retryDelaysMs: { timeout: [] } })).toThrow(/retryDelaysMs.timeout/);
  });
});

describe("prompts too long and models not ready", () => {
  it("a context_length refusal moves to the next model at once and leaves the model healthy", async () => {
    const chain = chainOf([A, B]);
    for (let i = 0; i < 4; i++) fake.script(A, behave.contextWindow(1, "never"));
    for (let i = 0; i < 4; i++) expect(await turn(chain)).toMatchObject({ text: `answer from ${B}`, model: B });
    expect(fake.calls(A)).toBe(4); // asked every turn: no backoff, no open breaker
    expect(healthOf(chain, A)).toMatchObject({ state: "closed", consecutiveFailures: 0, availableAt: 0 });
  });

  it("a model that is not ready is passed over without harm, and its message is the exhausted error's cause", async () => {
    const notReady = {
      name: "local",
      // eslint-disable-next-line require-yield
      async *stream(): AsyncGenerator<string> {
        throw new LlmError("not_ready", "local", "The tutor is getting ready: downloading its model (43%).");
      },
      complete: () => Promise.reject(new LlmError("not_ready", "local", "getting ready")),
    };
    const chain = new ModelChain([createOpenAIChatModel({ baseURL: fake.url, model: A }), notReady], FAST);
    fake.script(A, behave.error(400));
    const r = await turn(chain);
    expect(r.error?.reason).toBe("exhausted");
    expect(r.error?.cause).toBeInstanceOf(LlmError);
    expect((r.error?.cause as LlmError).message).toMatch(/downloading its model \(43%\)/);
    expect(healthOf(chain, "local")).toMatchObject({ state: "closed", consecutiveFailures: 0 });
  });

  it("reports the smallest context window of its models", () => {
    const m = (model: string, contextTokens?: number) => createOpenAIChatModel({ baseURL: fake.url, model, ...(contextTokens ? { contextTokens } : {}) });
    expect(new ModelChain([m(A, 32_768), m(B, 4096), m(C)]).contextTokens).toBe(4096);
    expect(new ModelChain([m(A)]).contextTokens).toBeUndefined();
  });
});
