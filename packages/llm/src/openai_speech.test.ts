// The speech adapter against the local fake speech server, which speaks with
// espeak-ng (real audio over real HTTP): pcm asked for, WAV accepted and
// converted, failures as LlmError kinds, garbage refused.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { TTS_SAMPLE_RATE } from "@tutor/core";
import { requireSpeechTools, startFakeTts, ttsBehave, type FakeTts } from "@tutor/testkit";
import { resample } from "./audio.js";
import { createOpenAISpeech, toSpeech } from "./openai-speech.js";
import { llmFailure } from "./test-helpers.js";

const SENTENCE = "A stack is a last in, first out list.";
const hasTools = requireSpeechTools();

let fake: FakeTts;
beforeAll(async () => {
  fake = await startFakeTts();
});
afterAll(async () => {
  await fake?.close();
});
beforeEach(() => fake.reset());

const tts = () => createOpenAISpeech({ baseURL: fake.url, apiKey: "k", model: "kokoro", voice: "af_heart" });
const signal = () => new AbortController().signal;


function rms(s: Int16Array): number {
  let sum = 0;
  for (const x of s) sum += x * x;
  return Math.sqrt(sum / Math.max(1, s.length)) / 32768;
}

describe.runIf(hasTools)("createOpenAISpeech", () => {
  it("asks for pcm with model, voice and input, and returns 24 kHz speech of plausible length", async () => {
    const audio = await tts().synthesize(SENTENCE, { signal: signal(), speed: 1.25 });
    const r = fake.requests[0]!;
    expect(r).toMatchObject({ model: "kokoro", voice: "af_heart", input: SENTENCE, responseFormat: "pcm", speed: 1.25 });
    expect(r.headers.authorization).toBe("Bearer k");
    expect(audio.sampleRate).toBe(TTS_SAMPLE_RATE);
    expect(audio.samples.length * 2).toBe(r.audioBytes);
    const seconds = audio.samples.length / TTS_SAMPLE_RATE;
    expect(seconds).toBeGreaterThan(1);
    expect(seconds).toBeLessThan(6);
    expect(rms(audio.samples)).toBeGreaterThan(0.02);
  });

  it("accepts a server that only speaks WAV (22,050 Hz) and converts it to the same speech at 24 kHz", async () => {
    const pcm = await tts().synthesize(SENTENCE, { signal: signal() });
    fake.script(ttsBehave.speak({ wavOnly: true }));
    const fromWav = await tts().synthesize(SENTENCE, { signal: signal() });
    expect(fromWav.sampleRate).toBe(TTS_SAMPLE_RATE);
    // Same duration within a few ms (sox and our resampler round differently).
    expect(Math.abs(fromWav.samples.length - pcm.samples.length)).toBeLessThan(TTS_SAMPLE_RATE * 0.01);
    expect(rms(fromWav.samples)).toBeCloseTo(rms(pcm.samples), 1);
  });

  it("converts raw audio labelled with another rate (audio/pcm;rate=16000)", async () => {
    const pcm = await tts().synthesize(SENTENCE, { signal: signal() });
    fake.script(ttsBehave.wrongRate(16_000));
    const other = await tts().synthesize(SENTENCE, { signal: signal() });
    expect(Math.abs(other.samples.length - pcm.samples.length)).toBeLessThan(TTS_SAMPLE_RATE * 0.01);
  });

  it("refuses garbage, an empty body and a wrong content type as bad_response", async () => {
    fake.script([ttsBehave.garbage(), ttsBehave.empty(), ttsBehave.wrongType()]);
    const garbage = await llmFailure(tts().synthesize(SENTENCE, { signal: signal() }));
    expect(garbage).toMatchObject({ kind: "bad_response", retryable: false });
    expect(garbage.message).toMatch(/WAV/);
    expect(await llmFailure(tts().synthesize(SENTENCE, { signal: signal() }))).toMatchObject({ kind: "bad_response", message: expect.stringMatching(/empty/) });
    expect(await llmFailure(tts().synthesize(SENTENCE, { signal: signal() }))).toMatchObject({ kind: "bad_response", message: expect.stringMatching(/text\/html/) });
  });

  it("reports server failures as the LLM's error kinds", async () => {
    fake.script([ttsBehave.error(429, { retryAfter: 3 }), ttsBehave.error(503), ttsBehave.error(400, { message: "unknown voice" })]);
    expect(await llmFailure(tts().synthesize(SENTENCE, { signal: signal() }))).toMatchObject({ kind: "rate_limited", retryAfterMs: 3000, retryable: true });
    expect(await llmFailure(tts().synthesize(SENTENCE, { signal: signal() }))).toMatchObject({ kind: "unavailable", status: 503 });
    expect(await llmFailure(tts().synthesize(SENTENCE, { signal: signal() }))).toMatchObject({ kind: "client_error", message: expect.stringMatching(/unknown voice/) });
  });

  it("times out a stalled server within its deadline and hangs up", async () => {
    fake.script(ttsBehave.hang());
    const started = Date.now();
    const err = await llmFailure(tts().synthesize(SENTENCE, { signal: signal(), timeoutMs: 300 }));
    expect(err.kind).toBe("timeout");
    expect(Date.now() - started).toBeLessThan(5000);
    expect(await fake.requests[0]!.settled).toBe("client_closed");
  });

  it("aborts a request in flight when its signal fires", async () => {
    fake.script(ttsBehave.hang());
    const c = new AbortController();
    const p = llmFailure(tts().synthesize(SENTENCE, { signal: c.signal }));
    await fake.nextRequest();
    c.abort();
    expect((await p).kind).toBe("aborted");
    expect(await fake.requests[0]!.settled).toBe("client_closed");
  });

  it("refuses audio far too short for the text", async () => {
    fake.script(ttsBehave.wrongRate(8_000));
    // 8 kHz speech labelled as 8 kHz is fine; what is refused is audio that cannot be the text's speech:
    await expect(tts().synthesize(SENTENCE, { signal: signal() })).resolves.toBeTruthy();
    const long = "word ".repeat(60);
    fake.script(ttsBehave.garbage({ bytes: 0 }));
    expect(await llmFailure(tts().synthesize(long, { signal: signal() }))).toMatchObject({ kind: "bad_response" });
  });
});

describe("resample", () => {
  it("keeps a 1 kHz tone's frequency and level from 22,050 Hz to 24 kHz and from 48 kHz down", () => {
    for (const from of [22_050, 48_000]) {
      const tone = new Int16Array(from).map((_, i) => Math.round(10_000 * Math.sin((2 * Math.PI * 1000 * i) / from)));
      const out = resample(tone, from, 24_000);
      expect(out.length).toBe(24_000);
      let crossings = 0;
      for (let i = 1; i < out.length; i++) if ((out[i - 1]! < 0) !== (out[i]! < 0)) crossings++;
      expect(crossings).toBeGreaterThan(1990);
      expect(crossings).toBeLessThan(2010);
      expect(rms(out.subarray(100, -100))).toBeCloseTo(10_000 / 32768 / Math.SQRT2, 2);
    }
  });

  it("removes what the lower rate cannot carry instead of folding it back (10 kHz tone, 48 -> 16 kHz)", () => {
    const tone = new Int16Array(48_000).map((_, i) => Math.round(10_000 * Math.sin((2 * Math.PI * 10_000 * i) / 48_000)));
    expect(rms(resample(tone, 48_000, 16_000).subarray(100, -100))).toBeLessThan(0.03);
  });
});

describe("toSpeech", () => {
  // 2 s of a 440 Hz tone as little-endian s16, `at` bytes into a larger buffer.
  const tone = new Int16Array(2 * TTS_SAMPLE_RATE).map((_, i) => Math.round(8_000 * Math.sin((2 * Math.PI * 440 * i) / TTS_SAMPLE_RATE)));
  const bodyAt = (samples: Int16Array, at: number) => {
    const buf = Buffer.alloc(at + samples.length * 2);
    for (const [i, x] of samples.entries()) buf.writeInt16LE(x, at + i * 2);
    return buf.subarray(at);
  };

  it("reads raw 24 kHz PCM sample for sample, at an even or an odd place in memory", () => {
    for (const at of [0, 2, 1, 3]) expect(toSpeech("m", SENTENCE, bodyAt(tone, at), "audio/pcm").samples).toEqual(tone);
  });

  it("refuses all-zero audio as silence", () => {
    expect(() => toSpeech("m", SENTENCE, bodyAt(new Int16Array(TTS_SAMPLE_RATE * 2), 0), "audio/pcm")).toThrow(/silence/);
    const click = new Int16Array(TTS_SAMPLE_RATE * 2);
    click[click.length - 1] = 1;
    expect(toSpeech("m", SENTENCE, bodyAt(click, 1), "audio/pcm").samples).toEqual(click);
  });
});
