// One answer's server voice against the fake speech server (espeak-ng, real
// HTTP through the real adapter): order, overlap, cancel mid-sentence, the
// fall-back to web_tts and the rest before the next answer tries again.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { ServerMessage } from "@tutor/protocol";
import { createOpenAISpeech } from "@tutor/llm";
import { requireSpeechTools, startFakeTts, ttsBehave, type FakeTts } from "@tutor/testkit";
import { AnswerSpeech, TTS_FAILED_MESSAGE } from "./answer-speech.js";
import { ServerSpeech, type AudioSink } from "./server-speech.js";

const hasTools = requireSpeechTools();
const WEB = { provider: "web", voice: "default", rate: 1, pitch: 1 };
const ANSWER = "First, a stack holds items. Second, you push on top. Third, you pop from the top. Finally, it is empty.";

let fake: FakeTts;
beforeAll(async () => {
  fake = await startFakeTts();
});
afterAll(async () => {
  await fake?.close();
});
beforeEach(() => fake.reset());

interface Played {
  seq: number;
  text: string;
  samples: number;
  at: number;
}

function harness(settings: ConstructorParameters<typeof ServerSpeech>[1] = {}) {
  const speech = new ServerSpeech(createOpenAISpeech({ baseURL: fake.url, model: "tts-1", voice: "alloy" }), settings);
  const messages: ServerMessage[] = [];
  const played: Played[] = [];
  const stopped: string[] = [];
  let sink: AudioSink = {
    play: (h, a) => {
      played.push({ seq: h.seq, text: h.text, samples: a.samples.length, at: performance.now() });
      messages.push(h);
    },
    stop: (id) => stopped.push(id),
  };
  const answer = (controller = new AbortController(), wrap?: (s: AudioSink) => AudioSink) => {
    if (wrap) sink = wrap(sink);
    return new AnswerSpeech((m) => messages.push(m), WEB, "m1", true, {}, { speech, sink }, controller.signal);
  };
  return { speech, messages, played, stopped, answer };
}

const types = (ms: ServerMessage[]) => ms.map((m) => m.type);

describe.runIf(hasTools)("AnswerSpeech with a server voice", () => {
  it("sends every sentence's audio in order, framed by tts_starting/voice_info and tts_complete, with no web_tts", async () => {
    const h = harness();
    const a = h.answer();
    // Streamed in small pieces, as a model does.
    for (let i = 0; i < ANSWER.length; i += 7) a.push(ANSWER.slice(i, i + 7));
    a.finish();
    await a.done();
    expect(h.played.map((p) => p.seq)).toEqual([0, 1, 2, 3]);
    expect(h.played.map((p) => p.text)).toEqual([
      "First, a stack holds items.",
      "Second, you push on top.",
      "Third, you pop from the top.",
      "Finally, it is empty.",
    ]);
    expect(types(h.messages)).toEqual(["tts_starting", "voice_info", "speech_audio", "speech_audio", "speech_audio", "speech_audio", "tts_complete"]);
    expect(h.messages[0]).toMatchObject({ provider: "openai", voice: "alloy" });
    // Real speech of each sentence: roughly a second or two each at 24 kHz.
    for (const p of h.played) expect(p.samples / 24_000).toBeGreaterThan(0.8);
    // Synthesis of one sentence never waited for all the others: requests overlap but never exceed 2 in flight.
    const reqs = fake.requests.map((r) => ({ start: r.arrivedAt, end: r.answeredAt! }));
    for (const r of reqs) expect(reqs.filter((o) => o.start <= r.start && o.end > r.start).length).toBeLessThanOrEqual(2);
    expect(reqs[1]!.start).toBeLessThan(reqs[0]!.end);
  });

  it("keeps order when a later sentence is ready first, and holds at most 2 sentences", async () => {
    const h = harness();
    fake.scriptFor("First", ttsBehave.speak({ delayMs: 400 }));
    const a = h.answer();
    a.push(ANSWER);
    a.finish();
    await a.done();
    expect(h.played.map((p) => p.seq)).toEqual([0, 1, 2, 3]);
    // The third request starts only once the first sentence was sent.
    expect(fake.requests[2]!.arrivedAt).toBeGreaterThanOrEqual(h.played[0]!.at - 1);
  });

  it("waits for the transport (backpressure) before sending the next sentence", async () => {
    const h = harness();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const a = h.answer(new AbortController(), (inner) => ({ ...inner, play: async (hd, au) => (inner.play(hd, au), hd.seq === 0 ? gate : undefined) }));
    a.push(ANSWER);
    a.finish();
    await new Promise((r) => setTimeout(r, 1500));
    expect(h.played.length).toBe(1);
    // Two sentences held at most: the one being sent and the next.
    expect(fake.requests.length).toBeLessThanOrEqual(3);
    release();
    await a.done();
    expect(h.played.length).toBe(4);
  });

  it("cancel mid-sentence aborts the synthesis in flight, stops what is playing and sends nothing more", async () => {
    const h = harness();
    fake.scriptFor("Second", ttsBehave.hang());
    fake.scriptFor("Third", ttsBehave.hang());
    const controller = new AbortController();
    const a = h.answer(controller);
    a.push(ANSWER);
    while (h.played.length < 1) await new Promise((r) => setTimeout(r, 10));
    controller.abort();
    await a.done();
    expect(await fake.requests.find((r) => r.input.startsWith("Second"))!.settled).toBe("client_closed");
    expect(h.stopped).toEqual(["m1"]);
    a.push(" More text. And more.");
    a.finish();
    await new Promise((r) => setTimeout(r, 300));
    expect(h.played.length).toBe(1);
    expect(types(h.messages)).not.toContain("tts_complete");
  });

  for (const [name, behaviour] of [
    ["fails (503)", ttsBehave.error(503)],
    ["returns garbage", ttsBehave.garbage()],
    ["stalls past the deadline", ttsBehave.hang()],
  ] as const) {
    it(`a speech server that ${name} costs the voice, not the answer: one tts_error, the rest as web_tts in order`, async () => {
      const h = harness({ settings: { attemptTimeoutMs: 500 } });
      fake.scriptFor("Second", behaviour);
      fake.scriptFor("Third", behaviour);
      const a = h.answer();
      a.push(ANSWER);
      a.finish();
      await a.done();
      expect(types(h.messages)).toEqual(["tts_starting", "voice_info", "speech_audio", "tts_error", "web_tts", "web_tts", "web_tts", "tts_complete"]);
      expect(h.messages.find((m) => m.type === "tts_error")).toMatchObject({ message: TTS_FAILED_MESSAGE });
      const web = h.messages.filter((m) => m.type === "web_tts");
      expect(web.map((m) => m.seq)).toEqual([1, 2, 3]);
      expect(web[0]).toMatchObject({ text: "Second, you push on top.", voice: "default" });
    });
  }

  it("after a failure the voice rests per the retry rules, then the next answer speaks with it again", async () => {
    let now = 0;
    const h = harness({ clock: { now: () => now }, settings: { retryDelaysMs: { timeout: [1000], rate_limited: [5000], unavailable: [3000] } } });
    fake.script([ttsBehave.error(503)]);
    const first = h.answer();
    first.push("One sentence here.");
    first.finish();
    await first.done();
    expect(h.speech.available()).toBe(false);
    const resting = new AnswerSpeech(() => undefined, WEB, "m2", true, {}, { speech: h.speech, sink: { play: () => undefined } }, new AbortController().signal);
    expect(resting.serverVoice).toBe(false);
    now += 3000;
    const again = h.answer();
    expect(again.serverVoice).toBe(true);
    again.push("Back again.");
    again.finish();
    await again.done();
    expect(h.played.at(-1)).toMatchObject({ text: "Back again." });
  });

  it("never speaks code: a fenced block is the notice, its code is never sent to the speech server", async () => {
    const h = harness();
    const a = h.answer();
    a.push("Here it is:\n\n```python\nprint('secret_token')\n```\n\nThat prints it.");
    a.finish();
    await a.done();
    expect(fake.requests.map((r) => r.input).join(" ")).not.toMatch(/secret_token|print\(/);
    expect(h.played.map((p) => p.text)).toContain("The code is shown on screen.");
  });
});
