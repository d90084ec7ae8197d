// The server voice over /ws (TTS_PROVIDER=openai), end to end: the fake LLM
// streams the answer, the fake speech server speaks it with espeak-ng, and
// the client receives per sentence `speech_audio` + one binary PCM frame.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { TTS_FAILED_MESSAGE } from "@tutor/core";
import {
  behave,
  concatAudio,
  pcmFrames,
  requireSpeechTools,
  silence,
  speak,
  startFakeLlm,
  startFakeStt,
  startFakeTts,
  sttBehave,
  ttsBehave,
  type FakeLlm,
  type FakeTts,
} from "@tutor/testkit";
import { FAST_MODEL, MAIN_MODEL, WsClient, ask, signUp, startTestServer, startVoiceTestServer, type TestServer } from "./test-helpers.js";

const hasTools = requireSpeechTools();
const TTS_ENV = { TTS_PROVIDER: "openai", TTS_MODEL: "kokoro", TTS_VOICE: "af_heart" };
const YES = behave.compute((r) => (/title/i.test(JSON.stringify(r.messages)) ? "Some Title" : "YES"));

let fake: FakeLlm;
let tts: FakeTts;
let srv: TestServer;
let c: WsClient;

beforeAll(async () => {
  fake = await startFakeLlm({ models: [MAIN_MODEL, FAST_MODEL] });
  tts = await startFakeTts();
});
afterAll(async () => {
  await fake?.close();
  await tts?.close();
});
beforeEach(async () => {
  fake.reset();
  tts.reset();
  fake.setDefault(FAST_MODEL, YES);
  srv = await startTestServer({
    fake,
    env: { ...TTS_ENV, TTS_BASE_URL: tts.url },
    configure: (cfg) => (cfg.speech = { attemptTimeoutMs: 800, retryDelaysMs: { timeout: [0], rate_limited: [0], unavailable: [0] } }),
  });
  c = await WsClient.connect(srv.wsUrl);
  await signUp(c);
});
afterEach(async () => {
  await c.close();
  await srv.close();
});

/** Each speech_audio with the binary frame that directly followed it. */
function sentences(client: WsClient, requestId: string) {
  return client.messages.flatMap((m, i) => {
    if (m.type !== "speech_audio" || m.request_id !== requestId) return [];
    const frame = client.binary.find((b) => b.after === i + 1);
    return [{ header: m, index: i, bytes: frame?.bytes }];
  });
}

async function untilComplete(client: WsClient, requestId: string) {
  await client.waitFor((m) => m.type === "tts_complete" && m.request_id === requestId, 20_000);
}

function rms(bytes: Buffer): number {
  let sum = 0;
  for (let i = 0; i + 1 < bytes.length; i += 2) sum += bytes.readInt16LE(i) ** 2;
  return Math.sqrt(sum / Math.max(1, bytes.length / 2)) / 32768;
}

describe.runIf(hasTools)("server voice over the WebSocket", () => {
  it("says in /api/config which voice is in use", async () => {
    const cfg = (await (await fetch(`${srv.url}/api/config`)).json()) as { tts: unknown };
    expect(cfg.tts).toEqual({ provider: "openai", default_voice: "default", voice: "af_heart", model: "kokoro" });
  });

  it("sends each sentence as speech_audio then one binary frame of real speech sized to the text, in order, first audio before the answer ends", async () => {
    const answer =
      "A queue is first in, first out. You add at the back and take from the front. " +
      "It is the right structure for a printer's jobs, which arrive over time and are served in turn.";
    fake.script(MAIN_MODEL, behave.reply(answer, { chunkDelayMs: 60 }));
    const msgs = await ask(c, { text: "What is a queue?" });
    const rid = msgs[0]!.request_id as string;
    await untilComplete(c, rid);
    const got = sentences(c, rid);
    expect(got.map((s) => s.header.seq)).toEqual([0, 1, 2]);
    expect(got.map((s) => s.header.text)).toEqual([
      "A queue is first in, first out.",
      "You add at the back and take from the front.",
      "It is the right structure for a printer's jobs, which arrive over time and are served in turn.",
    ]);
    for (const s of got) {
      expect(s.header).toMatchObject({ sample_rate: 24_000, encoding: "pcm_s16le", message_id: expect.any(String) });
      expect(s.bytes).toBeDefined();
      const seconds = s.bytes!.length / 2 / 24_000;
      const chars = (s.header.text as string).length;
      // espeak-ng at 175 wpm: ~12-16 characters a second; the binary frame is this sentence's speech.
      expect(seconds).toBeGreaterThan(chars / 30);
      expect(seconds).toBeLessThan(chars / 6 + 1);
      expect(rms(s.bytes!)).toBeGreaterThan(0.02);
    }
    // Longer text, longer audio.
    expect(got[2]!.bytes!.length).toBeGreaterThan(got[0]!.bytes!.length);
    const all = c.messages;
    const endIndex = all.findIndex((m) => m.type === "ai_response" && m.request_id === rid);
    expect(got[0]!.index).toBeLessThan(endIndex);
    expect(all.filter((m) => m.request_id === rid && m.type === "web_tts")).toEqual([]);
    expect(all.filter((m) => m.request_id === rid).map((m) => m.type)).toEqual(expect.arrayContaining(["tts_starting", "voice_info", "tts_complete"]));
    const starting = all.find((m) => m.type === "tts_starting" && m.request_id === rid)!;
    expect(starting).toMatchObject({ provider: "openai", voice: "af_heart" });
    expect(tts.requests.map((r) => [r.model, r.voice, r.responseFormat])).toEqual(Array(3).fill(["kokoro", "af_heart", "pcm"]));
  });

  it("never speaks code: the speech server gets the notice, not the code", async () => {
    fake.script(MAIN_MODEL, behave.reply("Like this:\n\n```python\nfor i in range(3):\n    print(i)\n```\n\nIt prints three numbers."));
    const msgs = await ask(c, { text: "Show a Python loop" });
    const rid = msgs[0]!.request_id as string;
    await untilComplete(c, rid);
    const inputs = tts.requests.map((r) => r.input).join(" | ");
    expect(inputs).toContain("The code is shown on screen.");
    expect(inputs).not.toMatch(/range|print\(/);
    expect(sentences(c, rid).map((s) => s.header.text)).toEqual(["Like this:", "The code is shown on screen.", "It prints three numbers."]);
  });

  it("cancel_response aborts the synthesis in flight and no audio follows", async () => {
    tts.scriptFor("Second", ttsBehave.hang());
    fake.script(MAIN_MODEL, behave.reply("First point about heaps. Second point about heaps. Third point about heaps.", { chunkDelayMs: 30 }));
    const from = c.messages.length;
    c.send({ type: "text_input", text: "Tell me about heaps", request_id: "h1" });
    await c.waitFor((m) => m.type === "speech_audio" && m.request_id === "h1", 15_000, from);
    const second = await waitForRequest(tts, "Second");
    c.send({ type: "cancel_response" });
    expect(await second.settled).toBe("client_closed");
    const binaries = c.binary.length;
    await new Promise((r) => setTimeout(r, 500));
    expect(c.binary.length).toBe(binaries);
    expect(c.messages.filter((m) => m.request_id === "h1" && m.type === "speech_audio").length).toBe(1);
    expect(c.messages.some((m) => m.request_id === "h1" && m.type === "tts_complete")).toBe(false);
  });

  it("a failing speech server costs the voice, not the answer: tts_error once, web_tts for the rest, the voice again next answer", async () => {
    tts.scriptFor("broken", ttsBehave.error(500));
    fake.script(MAIN_MODEL, [
      behave.reply("This sentence is fine. This one is broken. And this one too."),
      behave.reply("Now the voice is back."),
    ]);
    const first = await ask(c, { text: "Explain DNS" });
    const rid = first[0]!.request_id as string;
    await untilComplete(c, rid);
    const mine = c.messages.filter((m) => m.request_id === rid);
    expect(mine.filter((m) => m.type === "tts_error")).toEqual([expect.objectContaining({ message: TTS_FAILED_MESSAGE })]);
    expect(mine.filter((m) => m.type === "web_tts").map((m) => [m.seq, m.text])).toEqual([
      [1, "This one is broken."],
      [2, "And this one too."],
    ]);
    expect(mine.find((m) => m.type === "ai_response")).toMatchObject({ text: "This sentence is fine. This one is broken. And this one too." });
    const next = await ask(c, { text: "And again?" });
    const rid2 = next[0]!.request_id as string;
    await untilComplete(c, rid2);
    expect(sentences(c, rid2).map((s) => s.header.text)).toEqual(["Now the voice is back."]);
  });

  it("a speech server that stalls falls back after the deadline; the answer itself is not held up", async () => {
    tts.setDefault(ttsBehave.hang());
    fake.script(MAIN_MODEL, behave.reply("Stalled speech here. The rest follows."));
    const msgs = await ask(c, { text: "What is TCP?" });
    const rid = msgs[0]!.request_id as string;
    await untilComplete(c, rid);
    const mine = c.messages.filter((m) => m.request_id === rid);
    expect(mine.filter((m) => m.type === "tts_error").length).toBe(1);
    expect(mine.filter((m) => m.type === "web_tts").map((m) => m.text)).toEqual(["Stalled speech here.", "The rest follows."]);
    // The answer text was complete before the voice gave up.
    expect(mine.findIndex((m) => m.type === "ai_response")).toBeLessThan(mine.findIndex((m) => m.type === "tts_error"));
  });

  it("puts the first-audio latency on /metrics", async () => {
    fake.script(MAIN_MODEL, behave.reply("Metrics are numbers."));
    const msgs = await ask(c, { text: "What are metrics?" });
    await untilComplete(c, msgs[0]!.request_id as string);
    c.send({ type: "playback_state", speaking: true, message_id: msgs.find((m) => m.type === "ai_response")!.message_id });
    await new Promise((r) => setTimeout(r, 100));
    const text = await (await fetch(`${srv.url}/metrics`)).text();
    expect(text).toMatch(/tutor_tts_first_audio_seconds_count\{stage="sent"\} 1/);
    expect(text).toMatch(/tutor_tts_first_audio_seconds_count\{stage="played"\} 1/);
  });

  it("a spoken question answered in the server voice puts end of speech → first audio on /metrics", async () => {
    const stt = await startFakeStt();
    const voiced = await startVoiceTestServer(fake, stt, { env: { ...TTS_ENV, TTS_BASE_URL: tts.url } });
    try {
      const v = await WsClient.connect(voiced.wsUrl);
      await signUp(v);
      stt.script(sttBehave.reply("What is a stack?"));
      fake.script(MAIN_MODEL, behave.reply("A stack is last in, first out. You push and pop at the top."));
      v.send({ type: "audio_start", sample_rate: 16000, encoding: "pcm_s16le", teaching_mode: "qa", request_id: "spoken" });
      for (const f of pcmFrames(concatAudio(silence(300), await speak("What is a stack?"), silence(1_300)), 20)) v.sendRaw(f, true);
      await untilComplete(v, "spoken");
      v.send({ type: "audio_end" });
      expect(sentences(v, "spoken").map((s) => [s.header.text, s.bytes !== undefined])).toEqual([
        ["A stack is last in, first out.", true],
        ["You push and pop at the top.", true],
      ]);
      // The turn's latencies are observed together once it has ended.
      const stage = (text: string, name: string, what: "count" | "sum") =>
        Number(text.match(new RegExp(`tutor_voice_latency_seconds_${what}\\{stage="${name}"\\} (\\S+)`))?.[1] ?? NaN);
      let metrics = "";
      for (let i = 0; i < 100 && !(stage(metrics, "end_of_speech_to_transcript", "count") >= 1); i++) {
        await new Promise((r) => setTimeout(r, 20));
        metrics = await (await fetch(`${voiced.url}/metrics`)).text();
      }
      expect(stage(metrics, "end_of_speech_to_transcript", "count")).toBe(1);
      expect(stage(metrics, "end_of_speech_to_first_audio", "count")).toBe(1);
      // Measured from the end of speech, so it holds the whole wait up to the transcript and more.
      expect(stage(metrics, "end_of_speech_to_first_audio", "sum")).toBeGreaterThan(stage(metrics, "end_of_speech_to_transcript", "sum"));
      await v.close();
    } finally {
      await voiced.close();
      await stt.close();
    }
  });
});

async function waitForRequest(t: FakeTts, text: string) {
  for (;;) {
    const r = t.requests.find((q) => q.input.includes(text));
    if (r) return r;
    await new Promise((res) => setTimeout(res, 10));
  }
}
