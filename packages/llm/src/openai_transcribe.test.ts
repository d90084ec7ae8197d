// The transcription adapter and the core's retry policy against the local
// fake OpenAI-compatible transcription server (real HTTP, real multipart).
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { encodeWav, RetryingSpeechToText } from "@tutor/core";
import { sttBehave, startFakeStt, type FakeStt } from "@tutor/testkit";
import { createOpenAITranscriber } from "./openai-transcribe.js";
import { llmFailure } from "./test-helpers.js";

const MODEL = "whisper-large-v3-turbo";
// 0.5 s of a 440 Hz tone: audio with energy, so the server's checks have something to measure.
const tone = new Int16Array(8000).map((_, i) => Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 16000)));
const wav = encodeWav(tone, 16000);

let fake: FakeStt;
beforeAll(async () => {
  fake = await startFakeStt();
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => fake.reset());

const stt = () => createOpenAITranscriber({ baseURL: fake.url, apiKey: "k", model: MODEL });
const signal = () => new AbortController().signal;


describe("createOpenAITranscriber", () => {
  it("uploads the WAV with model, prompt and response_format, and returns the text", async () => {
    fake.script(sttBehave.reply("  What is a binary search tree?  "));
    const text = await stt().transcribe(wav, { prompt: "A computer science tutoring session. Terms: Dijkstra.", signal: signal() });
    expect(text).toBe("What is a binary search tree?");
    const r = fake.requests[0]!;
    expect(r).toMatchObject({ model: MODEL, prompt: "A computer science tutoring session. Terms: Dijkstra.", responseFormat: "json", fileName: "utterance.wav" });
    expect(r.headers.authorization).toBe("Bearer k");
    expect(r.wav?.durationMs).toBe(500);
    expect(r.wav!.rms).toBeGreaterThan(0.1);
  });

  it("reports failures as the LLM's error kinds", async () => {
    fake.script([
      sttBehave.error(429, { retryAfter: 2 }),
      sttBehave.error(503),
      sttBehave.error(400, { message: "bad file" }),
      sttBehave.malformed(),
    ]);
    expect(await llmFailure(stt().transcribe(wav, { signal: signal() }))).toMatchObject({ kind: "rate_limited", status: 429, retryAfterMs: 2000, retryable: true });
    expect(await llmFailure(stt().transcribe(wav, { signal: signal() }))).toMatchObject({ kind: "unavailable", status: 503, retryable: true });
    expect(await llmFailure(stt().transcribe(wav, { signal: signal() }))).toMatchObject({ kind: "client_error", status: 400, retryable: false });
    expect(await llmFailure(stt().transcribe(wav, { signal: signal() }))).toMatchObject({ kind: "bad_response" });
  });

  it("times out a silent server and hangs up", async () => {
    fake.script(sttBehave.hang());
    const err = await llmFailure(stt().transcribe(wav, { signal: signal(), timeoutMs: 200 }));
    expect(err.kind).toBe("timeout");
    expect(await fake.requests[0]!.settled).toBe("client_closed");
  });

  it("stops at once when the caller aborts, and the request is closed", async () => {
    fake.script(sttBehave.hang());
    const ctl = new AbortController();
    const p = stt().transcribe(wav, { signal: ctl.signal });
    await fake.nextRequest();
    ctl.abort();
    expect((await llmFailure(p)).kind).toBe("aborted");
    expect(await fake.requests[0]!.settled).toBe("client_closed");
  });

  it("a real server refuses what is not a 16 kHz mono WAV (the fake checks like one)", async () => {
    const err = await llmFailure(stt().transcribe(encodeWav(tone, 48000), { signal: signal() }));
    expect(err.kind).toBe("client_error");
    expect(fake.requests[0]!.wavError).toMatch(/48000 Hz/);
  });
});

describe("RetryingSpeechToText", () => {
  const quick = { retryDelaysMs: { timeout: [20], rate_limited: [20], unavailable: [20] }, jitter: 0 };

  it("comes back after 5xx, 429 and a timeout, then answers", async () => {
    fake.script([sttBehave.error(503), sttBehave.error(429), sttBehave.hang(), sttBehave.reply("Explain recursion")]);
    const retrying = new RetryingSpeechToText(stt(), { ...quick, attemptTimeoutMs: 200 });
    expect(await retrying.transcribe(wav, { signal: signal() })).toBe("Explain recursion");
    expect(fake.requests).toHaveLength(4);
  });

  it("honours Retry-After on 429", async () => {
    fake.script([sttBehave.error(429, { retryAfter: "0.3" }), sttBehave.reply("ok")]);
    const retrying = new RetryingSpeechToText(stt(), quick);
    expect(await retrying.transcribe(wav, { signal: signal() })).toBe("ok");
    const [a, b] = fake.requests;
    expect(b!.at - a!.at).toBeGreaterThanOrEqual(290);
  });

  it("does not retry a request the server rejected (4xx)", async () => {
    fake.script([sttBehave.error(400), sttBehave.reply("never")]);
    const err = await llmFailure(new RetryingSpeechToText(stt(), quick).transcribe(wav, { signal: signal() }));
    expect(err.kind).toBe("client_error");
    expect(fake.requests).toHaveLength(1);
  });

  it("gives up after maxAttempts, and at the deadline rather than wait past it", async () => {
    fake.setDefault(sttBehave.error(503));
    expect((await llmFailure(new RetryingSpeechToText(stt(), { ...quick, maxAttempts: 3 }).transcribe(wav, { signal: signal() }))).kind).toBe("unavailable");
    expect(fake.requests).toHaveLength(3);
    fake.reset();
    fake.setDefault(sttBehave.error(503));
    const slow = new RetryingSpeechToText(stt(), { retryDelaysMs: { unavailable: [5_000] }, jitter: 0, deadlineMs: 2_000 });
    const started = Date.now();
    expect((await llmFailure(slow.transcribe(wav, { signal: signal() }))).kind).toBe("unavailable");
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(fake.requests).toHaveLength(1);
  });

  it("an abort during the wait ends the call as aborted", async () => {
    fake.setDefault(sttBehave.error(503));
    const ctl = new AbortController();
    const p = new RetryingSpeechToText(stt(), { retryDelaysMs: { unavailable: [10_000] }, jitter: 0, deadlineMs: 60_000 }).transcribe(wav, { signal: ctl.signal });
    await fake.nextRequest();
    setTimeout(() => ctl.abort(), 50);
    expect((await llmFailure(p)).kind).toBe("aborted");
    expect(fake.requests).toHaveLength(1);
  });
});
