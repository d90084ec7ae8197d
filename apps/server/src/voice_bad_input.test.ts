// Bad voice input over /ws (ISSUE: "What bad input gets"): a clear `error`
// or a polite "I didn't catch that", the session goes on, nothing half-stored.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  behave,
  concatAudio,
  pcmFrames,
  requireSpeechTools,
  silence,
  speak,
  startFakeLlm,
  startFakeStt,
  sttBehave,
  type FakeLlm,
  type FakeStt,
} from "@tutor/testkit";
import { FAST_MODEL, MAIN_MODEL, WsClient, signUp, startVoiceTestServer, type TestServer } from "./test-helpers.js";

const enabled = requireSpeechTools();

let fake: FakeLlm;
let stt: FakeStt;
let srv: TestServer;
let question: Int16Array;

const quickRetries = { retryDelaysMs: { timeout: [50], rate_limited: [50], unavailable: [50] }, maxAttempts: 2 };

beforeAll(async () => {
  if (!enabled) return;
  fake = await startFakeLlm({ models: [MAIN_MODEL, FAST_MODEL] });
  fake.setDefault(FAST_MODEL, behave.reply("YES"));
  stt = await startFakeStt();
  srv = await startVoiceTestServer(fake, stt, {
    configure: (c) => {
      // This suite feeds long speech as fast as the socket takes it (the
      // real-time guard has its own test below, on a server with the defaults).
      c.voice.settings = { stt: quickRetries, audioBurstMs: 60 * 60_000, maxQueuedUtterances: 1000 };
    },
  });
  question = concatAudio(silence(300), await speak("What is a binary search tree?"), silence(1_300));
});
afterAll(async () => {
  await srv?.close();
  await fake?.close();
  await stt?.close();
});

async function user(): Promise<WsClient> {
  const c = await WsClient.connect(srv.wsUrl);
  await signUp(c);
  return c;
}

function send(c: WsClient, audio: Int16Array): void {
  for (const f of pcmFrames(audio, 20)) c.sendRaw(f, true);
}

/** Everything the user can see of their data. */
async function snapshot(c: WsClient): Promise<string> {
  const list = await c.request({ type: "list_conversations", limit: 100 }, "conversations_list");
  const convs = [];
  for (const conv of list.conversations as { id: string }[]) {
    convs.push((await c.request({ type: "get_conversation", conversation_id: conv.id }, "conversation_data")).conversation);
  }
  return JSON.stringify(convs);
}

const audioStart = { type: "audio_start", sample_rate: 16000, encoding: "pcm_s16le" };

describe.runIf(enabled)("bad voice input over /ws", () => {
  it("audio before audio_start, or before signing in, gets a clear error and the session goes on", async () => {
    const anon = await WsClient.connect(srv.wsUrl);
    anon.sendRaw(Buffer.alloc(640), true);
    expect(await anon.waitFor((m) => m.type === "error")).toMatchObject({ code: "unauthenticated" });
    await anon.close();

    const c = await user();
    const from = c.messages.length;
    c.sendRaw(Buffer.alloc(640), true);
    const err = await c.waitFor((m) => m.type === "error", 5_000, from);
    expect(err).toMatchObject({ code: "invalid_message", message: expect.stringMatching(/send audio_start before audio frames/) });
    expect(await c.request({ type: "audio_end" })).toMatchObject({ type: "error", code: "invalid_message", message: expect.stringMatching(/no audio stream is open/) });
    expect((await c.request({ type: "ping" })).type).toBe("pong");
    await c.close();
  });

  it("refuses a wrong sample rate or encoding, and opens no stream", async () => {
    const c = await user();
    expect(await c.request({ ...audioStart, sample_rate: 48000 })).toMatchObject({
      type: "error",
      code: "invalid_message",
      message: expect.stringMatching(/sample_rate must be 16000/),
    });
    expect(await c.request({ ...audioStart, encoding: "opus" })).toMatchObject({ code: "invalid_message", message: expect.stringMatching(/encoding must be "pcm_s16le"/) });
    const from = c.messages.length;
    c.sendRaw(Buffer.alloc(640), true);
    expect((await c.waitFor((m) => m.type === "error", 5_000, from)).message).toMatch(/audio_start/);
    await c.close();
  });

  it("refuses a conversation that is not the user's exactly like a missing one, and opens no stream", async () => {
    const other = await user();
    const theirs = ((await other.request({ type: "new_conversation" }, "conversation_data")).conversation as { id: string }).id;
    await other.close();
    const c = await user();
    expect(await c.request({ ...audioStart, conversation_id: theirs })).toMatchObject({ type: "error", code: "not_found" });
    const from = c.messages.length;
    c.sendRaw(Buffer.alloc(640), true);
    expect((await c.waitFor((m) => m.type === "error", 5_000, from)).message).toMatch(/audio_start/);
    await c.close();
  });

  it("odd-length and oversized frames get an error each; the stream goes on and the question is answered", async () => {
    const c = await user();
    stt.reset();
    stt.script(sttBehave.reply("What is a binary search tree?"));
    fake.script(MAIN_MODEL, behave.reply("An ordered binary tree."));
    const from = c.messages.length;
    c.send({ ...audioStart, teaching_mode: "qa" });
    const frames = pcmFrames(question, 20);
    frames.splice(10, 0, Buffer.alloc(641), Buffer.alloc(3202), Buffer.alloc(0));
    for (const f of frames) c.sendRaw(f, true);
    const answer = await c.waitFor((m) => m.type === "ai_response", 15_000, from);
    expect(answer.text).toBe("An ordered binary tree.");
    const errors = c.messages.slice(from).filter((m) => m.type === "error").map((m) => m.message as string);
    expect(errors).toHaveLength(3);
    expect(errors[0]).toMatch(/641 bytes.*even number of bytes/);
    expect(errors[1]).toMatch(/3202 bytes.*too large.*at most 3200/);
    expect(errors[2]).toMatch(/empty audio frame/);
    expect(stt.requests).toHaveLength(1);
    expect(stt.requests[0]!.wav!.rms).toBeGreaterThan(0.02);
    await c.close();
  });

  it("silence only: no transcription request, an empty transcription and a polite error at audio_end, nothing stored", async () => {
    const c = await user();
    stt.reset();
    const before = await snapshot(c);
    const from = c.messages.length;
    c.send({ ...audioStart, request_id: "mic" });
    send(c, silence(4_000));
    c.send({ type: "audio_end", request_id: "end" });
    const err = await c.waitFor((m) => m.type === "error", 10_000, from);
    expect(err).toMatchObject({ code: "invalid_message", request_id: "end", message: expect.stringMatching(/didn't hear any speech/) });
    expect(c.messages.slice(from).map((m) => [m.type, m.text ?? null])).toEqual([
      ["transcription", ""],
      ["error", null],
    ]);
    expect(stt.requests).toHaveLength(0);
    expect(await snapshot(c)).toBe(before);
    await c.close();
  });

  it.each([
    { name: "the transcription server keeps failing", behaviour: sttBehave.error(503), requests: 2, code: "llm_unavailable", text: /couldn't make out what you said/ },
    { name: "the transcription server rejects the request", behaviour: sttBehave.error(400), requests: 1, code: "llm_unavailable", text: /couldn't make out what you said/ },
    { name: "the transcription server answers garbage", behaviour: sttBehave.malformed(), requests: 1, code: "llm_unavailable", text: /couldn't make out what you said/ },
    { name: "nothing was recognised (empty text)", behaviour: sttBehave.reply("   "), requests: 1, code: "invalid_message", text: /didn't catch that/ },
  ])("$name: an empty transcription and a polite error, no turn, nothing stored", async ({ behaviour, requests, code, text }) => {
    const c = await user();
    const conv = ((await c.request({ type: "new_conversation", teaching_mode: "qa" }, "conversation_data")).conversation as { id: string }).id;
    stt.reset();
    stt.setDefault(behaviour);
    const llmCalls = fake.calls(MAIN_MODEL);
    const before = await snapshot(c);
    const from = c.messages.length;
    c.send({ ...audioStart, conversation_id: conv, request_id: "mic" });
    send(c, question);
    const err = await c.waitFor((m) => m.type === "error", 15_000, from);
    expect(err).toMatchObject({ code, request_id: "mic", message: expect.stringMatching(text) });
    expect(c.messages.slice(from).map((m) => m.type)).toEqual(["transcription", "error"]);
    expect(c.messages[from]).toMatchObject({ text: "", final: true });
    expect(stt.requests).toHaveLength(requests);
    expect(fake.calls(MAIN_MODEL)).toBe(llmCalls);
    expect(await snapshot(c)).toBe(before);
    // The session goes on: the next question works.
    stt.setDefault(sttBehave.reply("What is a heap?"));
    fake.script(MAIN_MODEL, behave.reply("A tree-shaped priority queue."));
    send(c, question);
    expect((await c.waitFor((m) => m.type === "ai_response", 15_000, from)).text).toBe("A tree-shaped priority queue.");
    stt.reset();
    await c.close();
  });

  it(
    "ten minutes of continuous speech is cut into pieces at the maximum length and asked as one question",
    async () => {
      const sentences = await Promise.all(
        [
          "A binary search tree keeps smaller keys to the left of each node and larger keys to the right",
          "so a lookup compares the key with the root and walks down one side",
          "which takes time proportional to the height of the tree",
        ].map((t) => speak(t)),
      );
      // Pauses between sentences stay well under the one second that ends a question.
      const loop = concatAudio(...sentences.flatMap((s) => [s, silence(300)]));
      const talk = concatAudio(...Array.from({ length: Math.ceil((600 * 16_000) / loop.length) }, () => loop));
      expect(talk.length / 16_000).toBeGreaterThanOrEqual(600);

      const c = await user();
      stt.reset();
      let piece = 0;
      // What was heard in each piece (the guard sees their text joined: it must read as a computing question).
      const heard = (n: number) => `Part ${n}: a binary search tree keeps smaller keys to the left.`;
      stt.setDefault(sttBehave.compute(() => heard(++piece)));
      fake.script(MAIN_MODEL, behave.reply("That was a long question!"));
      const from = c.messages.length;
      c.send({ ...audioStart, teaching_mode: "qa" });
      send(c, concatAudio(silence(200), talk, silence(1_500))); // as fast as the socket takes it
      const answer = await c.waitFor((m) => m.type === "ai_response", 150_000, from);
      expect(answer.text).toBe("That was a long question!");

      // About 20 pieces of at most 30 s (+ a pause under 1 s before the cut), all speech.
      const pieces = stt.requests;
      expect(pieces.length).toBeGreaterThanOrEqual(20);
      expect(pieces.length).toBeLessThanOrEqual(23);
      for (const r of pieces) {
        expect(r.wav!.durationMs).toBeLessThanOrEqual(31_000);
        expect(r.wav!.rms).toBeGreaterThan(0.02);
      }
      const heardMs = pieces.reduce((n, r) => n + r.wav!.durationMs, 0);
      expect(heardMs).toBeGreaterThan(talk.length / 16 - 2_000);

      // Partial transcripts as the pieces come in, then the whole question once, then one turn.
      const transcripts = c.messages.slice(from).filter((m) => m.type === "transcription");
      const whole = Array.from({ length: pieces.length }, (_, i) => heard(i + 1)).join(" ");
      expect(transcripts.at(-1)).toMatchObject({ final: true, text: whole });
      expect(transcripts.slice(0, -1).every((m) => m.final === false)).toBe(true);
      expect(transcripts).toHaveLength(pieces.length);
      const stored = c.messages.slice(from).filter((m) => m.type === "user_message");
      expect(stored).toHaveLength(1);
      expect((stored[0]!.message as { content: string }).content).toBe(whole);
      c.send({ type: "audio_end" });
      stt.reset();
      await c.close();
    },
    180_000,
  );
});

describe.runIf(enabled)("voice faster than real time", () => {
  let strict: TestServer;
  beforeAll(async () => {
    strict = await startVoiceTestServer(fake, stt, { configure: (c) => (c.voice.settings = { stt: quickRetries, audioBurstMs: 2_000 }) });
  });
  afterAll(async () => strict?.close());

  it("refuses audio sent faster than real time past a short burst, with one clear rate_limited error, and the session goes on", async () => {
    const c = await WsClient.connect(strict.wsUrl);
    try {
      await signUp(c);
      const from = c.messages.length;
      c.send(audioStart);
      send(c, silence(10_000)); // ten seconds of audio in a few milliseconds
      const err = await c.waitFor((m) => m.type === "error", 10_000, from);
      expect(err).toMatchObject({ code: "rate_limited", limit: "voice_rate" });
      expect(err.retry_after_s as number).toBeGreaterThanOrEqual(1);
      expect(String(err.message)).toMatch(/faster than real time/);
      expect((await c.request({ type: "ping" }, "pong")).type).toBe("pong");
      // Said once, not once per refused frame.
      expect(c.messages.slice(from).filter((m) => m.type === "error")).toHaveLength(1);
    } finally {
      await c.close();
    }
  });
});
