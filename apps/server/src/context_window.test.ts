// Small context windows, end to end over /ws against the fake LLM scripted to
// refuse prompts that do not fit (OpenAI's 400 context_length_exceeded,
// prompt + max_tokens counted as OpenAI and vLLM do).
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { CONTEXT_TOO_LONG_ANSWER, FALLBACK_ANSWER } from "@tutor/core";
import { behave, startFakeLlm, type FakeLlm } from "@tutor/testkit";
import { FAST_MODEL, MAIN_MODEL, WsClient, ask, signUp, startTestServer, type TestServer } from "./test-helpers.js";

let fake: FakeLlm;
let srv: TestServer | undefined;
let c: WsClient | undefined;

const YES = behave.compute((r) => (/title/i.test(JSON.stringify(r.messages)) ? "Some Title" : "YES"));

beforeAll(async () => {
  fake = await startFakeLlm({ models: [MAIN_MODEL, FAST_MODEL] });
});
afterAll(async () => {
  await fake?.close();
});
afterEach(async () => {
  await c?.close();
  await srv?.close();
  c = srv = undefined;
});

async function start(env: Record<string, string> = {}) {
  fake.reset();
  fake.setDefault(FAST_MODEL, YES);
  srv = await startTestServer({ fake, env, configure: (cfg) => (cfg.turn.deadlineMs = 3000) });
  c = await WsClient.connect(srv.wsUrl);
  await signUp(c);
  return c;
}

const final = (msgs: { type: string }[]) => msgs.find((m) => m.type === "ai_response") as Record<string, unknown>;
const mainRequests = () => fake.requests.filter((r) => r.model === MAIN_MODEL && r.messages[0]?.role === "system" && r.stream);

describe("context windows", () => {
  it("trims the history to LLM_CONTEXT_TOKENS, keeping room for the answer, so a long conversation keeps being answered", async () => {
    const client = await start({ LLM_CONTEXT_TOKENS: "2048" });
    fake.setDefault(MAIN_MODEL, behave.contextWindow(2048, "Here is more about Python lists. ".repeat(40)));
    let conversationId: string | undefined;
    for (let i = 1; i <= 5; i++) {
      const msgs = await ask(client, {
        text: `Question ${i} about Python lists: ` + "how do list comprehensions work? ".repeat(30),
        teaching_mode: "qa",
        ...(conversationId ? { conversation_id: conversationId } : {}),
      });
      const answer = final(msgs);
      conversationId = answer.conversation_id as string;
      expect(answer.error).toBeUndefined();
      expect(answer.text).toContain("Python lists");
    }
    const requests = mainRequests();
    expect(requests).toHaveLength(5);
    const last = requests.at(-1)!;
    // The oldest questions were left out; the newest is the last message.
    expect(JSON.stringify(last.messages)).not.toContain("Question 1 about");
    expect(last.messages.at(-1)!.content).toContain("Question 5 about");
    // The answer's budget shrank to what the window leaves (default max_tokens is 2048).
    expect(last.params.max_tokens).toBeLessThan(2048);
    expect(last.params.max_tokens).toBeGreaterThanOrEqual(256);
  });

  it("a Groq model gets its published window (131,072), so a long conversation stays whole; LLM_CONTEXT_TOKENS overrides it", async () => {
    const GROQ = "llama-3.3-70b-versatile";
    const groq = await startFakeLlm({ models: [GROQ, FAST_MODEL] });
    try {
      const firstQuestionKept = async (env: Record<string, string>) => {
        groq.reset();
        groq.setDefault(FAST_MODEL, YES);
        groq.setDefault(GROQ, behave.reply("Lists are mutable."));
        srv = await startTestServer({ fake: groq, env: { LLM_MODELS: `${GROQ},${FAST_MODEL}`, ...env }, configure: (cfg) => (cfg.turn.deadlineMs = 3000) });
        c = await WsClient.connect(srv.wsUrl);
        await signUp(c);
        let conversationId: string | undefined;
        // Five questions of ~1,500 tokens each: more than 8192 leaves after the answer's room.
        for (let i = 1; i <= 5; i++) {
          const answer = final(
            await ask(c, {
              text: `Question ${i} about Python lists: ` + "how do list comprehensions work? ".repeat(140),
              teaching_mode: "qa",
              ...(conversationId ? { conversation_id: conversationId } : {}),
            }),
          );
          expect(answer.error).toBeUndefined();
          conversationId = answer.conversation_id as string;
        }
        const last = groq.requests.filter((r) => r.model === GROQ && r.stream).at(-1)!;
        await c.close();
        await srv.close();
        c = srv = undefined;
        return JSON.stringify(last.messages).includes("Question 1 about");
      };
      expect(await firstQuestionKept({})).toBe(true);
      expect(await firstQuestionKept({ LLM_CONTEXT_TOKENS: "8192" })).toBe(false);
    } finally {
      await groq.close();
    }
  });

  it("says plainly when even the question cannot fit, without calling the model", async () => {
    const client = await start({ LLM_CONTEXT_TOKENS: "1024" });
    fake.setDefault(MAIN_MODEL, behave.contextWindow(1024, "never"));
    const msgs = await ask(client, { text: "Explain this Python code:\n" + "print('x')\n".repeat(600), teaching_mode: "qa" });
    const answer = final(msgs);
    expect(answer.text).toBe(CONTEXT_TOO_LONG_ANSWER);
    expect(answer.error).toBe(true);
    expect(mainRequests()).toHaveLength(0);
  });

  it("a provider's context_length_exceeded is told as that, not as 'couldn't reach the model', and not retried", async () => {
    // The server thinks 8192 (nothing configured); the models really hold 600 tokens.
    const client = await start();
    fake.setDefault(MAIN_MODEL, behave.contextWindow(600, "never"));
    fake.setDefault(FAST_MODEL, behave.compute((r) => (r.stream ? behave.contextWindow(600, "never") : "YES")));
    const msgs = await ask(client, { text: "How does a hash map handle collisions in Java? " + "Explain in depth. ".repeat(150), teaching_mode: "qa" });
    const answer = final(msgs);
    expect(answer.text).toBe(CONTEXT_TOO_LONG_ANSWER);
    expect(answer.text).not.toBe(FALLBACK_ANSWER);
    expect(answer.error).toBe(true);
    expect(fake.requests.filter((r) => r.model === MAIN_MODEL && r.stream)).toHaveLength(1);
    // Not the model's ill health: a short question right after is answered by the main model.
    fake.setDefault(MAIN_MODEL, behave.reply("Collisions go into buckets."));
    const next = final(await ask(client, { text: "What is a hash map in Java?", teaching_mode: "qa", new_conversation: true }));
    expect(next.text).toBe("Collisions go into buckets.");
    expect(next.model).toBe(MAIN_MODEL);
  });

  it("rejects an LLM_CONTEXT_TOKENS that is not a number of tokens at start", async () => {
    await expect(startTestServer({ env: { LLM_CONTEXT_TOKENS: "lots" } })).rejects.toThrow(/LLM_CONTEXT_TOKENS/);
  });
});
