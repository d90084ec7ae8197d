// The fake speaks the OpenAI wire format itself (checked here with plain
// fetch, no SDK), so adapter tests that pass against it mean something.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { behave, startFakeLlm, type FakeLlm } from "./fake-llm.js";

let fake: FakeLlm;
beforeAll(async () => {
  fake = await startFakeLlm({ models: ["base-model"] });
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => fake.reset());

const post = (body: object) =>
  fetch(`${fake.url}/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });

describe("fake OpenAI-compatible server", () => {
  it("lists known models and answers an unknown one with a 404 OpenAI error body", async () => {
    fake.setDefault("scripted", behave.reply("x"));
    const list = (await (await fetch(`${fake.url}/models`)).json()) as { data: { id: string }[] };
    expect(list.data.map((m) => m.id).sort()).toEqual(["base-model", "scripted"]);

    const res = await post({ model: "nope", messages: [{ role: "user", content: "hi" }] });
    expect(res.status).toBe(404);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("model_not_found");
    expect(fake.calls("nope")).toBe(1);
  });

  it("streams SSE chat.completion.chunk events ending in [DONE]", async () => {
    fake.script("base-model", behave.reply("Hello world", { chunks: ["Hello", " world"] }));
    const res = await post({ model: "base-model", stream: true, messages: [{ role: "user", content: "hi" }] });
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const events = (await res.text()).split("\n\n").filter(Boolean);
    expect(events.at(-1)).toBe("data: [DONE]");
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e.slice("data: ".length)));
    expect(chunks.every((c) => c.object === "chat.completion.chunk")).toBe(true);
    expect(chunks.map((c) => c.choices[0].delta.content ?? "").join("")).toBe("Hello world");
    expect(chunks.at(-1).choices[0].finish_reason).toBe("stop");
  });

  it("plays the queue in order, then the default, and records each request", async () => {
    fake.script("m", [behave.error(503), behave.reply("second")]);
    fake.setDefault(
      "m",
      behave.compute((req) => (req.messages.at(-1)?.content.includes("Python") ? "YES" : "NO")),
    );
    const ask = (content: string) => post({ model: "m", max_tokens: 5, temperature: 0, messages: [{ role: "user", content }] });
    expect((await ask("a")).status).toBe(503);
    expect(((await (await ask("b")).json()) as { choices: { message: { content: string } }[] }).choices[0]!.message.content).toBe("second");
    const third = (await (await ask("Is Python fun?")).json()) as { choices: { message: { content: string } }[] };
    expect(third.choices[0]!.message.content).toBe("YES");
    expect(fake.calls("m")).toBe(3);
    expect(fake.requests.map((r) => r.params)).toEqual([
      { max_tokens: 5, temperature: 0 },
      { max_tokens: 5, temperature: 0 },
      { max_tokens: 5, temperature: 0 },
    ]);
  });

  it("sends Retry-After on a scripted 429", async () => {
    fake.script("m", behave.error(429, { retryAfter: 3, retryAfterMs: 3000 }));
    const res = await post({ model: "m", messages: [] });
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("3");
    expect(res.headers.get("retry-after-ms")).toBe("3000");
  });

  it("close() ends a hanging request instead of waiting for it", async () => {
    const other = await startFakeLlm();
    other.setDefault("m", behave.hang());
    const pending = fetch(`${other.url}/chat/completions`, {
      method: "POST",
      body: JSON.stringify({ model: "m", messages: [] }),
    }).then(
      () => "answered",
      () => "failed",
    );
    while (other.requests.length === 0) await new Promise((r) => setTimeout(r, 5));
    await other.close();
    await expect(pending).resolves.toBe("failed");
  });
});
