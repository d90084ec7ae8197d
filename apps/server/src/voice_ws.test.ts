// Voice over the WebSocket, end to end: a ws client streams 20 ms binary
// frames of espeak-ng speech (16 kHz mono s16le) to the real server, whose
// Silero VAD finds the utterance, whose transcription adapter uploads it to
// the local fake OpenAI-compatible transcription server (which checks it is a
// WAV with speech in it), and whose turn answers through the fake LLM.
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
import { FAST_MODEL, MAIN_MODEL, WsClient, ask, signUp, startTestServer, startVoiceTestServer, type TestServer } from "./test-helpers.js";

const enabled = requireSpeechTools();
const QUESTION = "What is a binary search tree?";

let fake: FakeLlm;
let stt: FakeStt;
let srv: TestServer;
let question: Int16Array;
let followUp: Int16Array;

/** Streams audio as 20 ms frames; `realTime` paces them like a microphone, else as fast as the socket takes them. */
async function stream(c: WsClient, audio: Int16Array, realTime = false): Promise<void> {
  const frames = pcmFrames(audio, 20);
  const started = Date.now();
  for (const [i, frame] of frames.entries()) {
    c.sendRaw(frame, true);
    if (realTime) {
      const due = started + (i + 1) * 20;
      if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
    }
  }
}

const start = (c: WsClient, extra: Record<string, unknown> = {}) =>
  c.send({ type: "audio_start", sample_rate: 16000, encoding: "pcm_s16le", ...extra });

beforeAll(async () => {
  if (!enabled) return;
  fake = await startFakeLlm({ models: [MAIN_MODEL, FAST_MODEL] });
  fake.setDefault(FAST_MODEL, behave.compute((r) => (/title/i.test(r.messages[0]?.content ?? "") ? "Binary Search Trees" : "YES")));
  stt = await startFakeStt();
  srv = await startVoiceTestServer(fake, stt);
  [question, followUp] = await Promise.all([speak(QUESTION), speak("Can you explain how Dijkstra's algorithm works?")]);
});
afterAll(async () => {
  await srv?.close();
  await fake?.close();
  await stt?.close();
});

describe("voice with a broken detector install", () => {
  it("still starts, serves text, and tells clients to use the browser's recognition", async () => {
    const broken = await startTestServer({
      env: { STT_BASE_URL: "http://127.0.0.1:9/v1" },
      configure: (c) => {
        c.voice.vadWorkers = 1;
        c.voice.vadModelPath = "/nonexistent/silero_vad.onnx";
      },
    });
    try {
      const cfg = (await (await fetch(`${broken.url}/api/config`)).json()) as { stt: unknown };
      expect(cfg.stt).toEqual({ provider: "browser" });
      const c = await WsClient.connect(broken.wsUrl);
      await signUp(c);
      expect(await c.request({ type: "audio_start", sample_rate: 16000, encoding: "pcm_s16le" })).toMatchObject({ type: "error", code: "invalid_message" });
      await c.close();
    } finally {
      await broken.close();
    }
  });
});

describe.runIf(enabled)("voice over /ws", () => {
  it("tells clients to stream the microphone to the server", async () => {
    const cfg = (await (await fetch(`${srv.url}/api/config`)).json()) as { stt: unknown };
    expect(cfg.stt).toEqual({ provider: "server", model: "whisper-test" });
  });

  it("a spoken question is transcribed, shown, stored and answered like a typed one", async () => {
    const c = await WsClient.connect(srv.wsUrl);
    await signUp(c);
    const conv = await c.request({ type: "new_conversation", teaching_mode: "qa" }, "conversation_data");
    const convId = (conv.conversation as { id: string }).id;
    stt.script(sttBehave.reply(QUESTION));
    fake.script(MAIN_MODEL, behave.reply("A binary search tree keeps smaller keys on the left. Lookups take O(log n) on average.", { chunkDelayMs: 5 }));

    const from = c.messages.length;
    start(c, { conversation_id: convId, request_id: "mic" });
    await stream(c, concatAudio(silence(400), question, silence(1_300)), true);
    const answer = await c.waitFor((m) => m.type === "ai_response", 15_000, from);
    await c.waitFor((m) => m.type === "conversation_updated", 10_000, from);
    c.send({ type: "audio_end" });

    const turn = c.messages.slice(from);
    const types = turn.map((m) => m.type);
    // transcription first, then the ordinary turn.
    expect(types[0]).toBe("transcription");
    expect(turn[0]).toMatchObject({ text: QUESTION, final: true, conversation_id: convId, request_id: "mic" });
    expect(types.indexOf("user_message")).toBeGreaterThan(0);
    expect(types.indexOf("ai_response_delta")).toBeGreaterThan(types.indexOf("user_message"));
    expect(types.indexOf("web_tts")).toBeGreaterThan(0);
    expect(answer).toMatchObject({ conversation_id: convId, text: expect.stringContaining("binary search tree"), model: MAIN_MODEL });
    expect(types).not.toContain("error");

    // What the transcription server received: one WAV of the spoken question.
    expect(stt.requests).toHaveLength(1);
    const r = stt.requests[0]!;
    expect(r).toMatchObject({ model: "whisper-test", responseFormat: "json", wavError: undefined });
    expect(r.headers.authorization).toBe("Bearer stt-key");
    const spokenMs = question.length / 16;
    expect(r.wav!.durationMs).toBeGreaterThan(spokenMs * 0.8);
    expect(r.wav!.durationMs).toBeLessThan(spokenMs + 1_200);
    expect(r.wav!.rms).toBeGreaterThan(0.02);
    expect(r.prompt).toMatch(/^A computer science tutoring session\./);

    const stored = await c.request({ type: "get_conversation", conversation_id: convId }, "conversation_data");
    const messages = (stored.conversation as { messages: { type: string; content: string }[] }).messages;
    expect(messages.map((m) => [m.type, m.content])).toEqual([
      ["user", QUESTION],
      ["ai", answer.text],
    ]);

    // The latency of the voice turn is measured and exported.
    const metrics = await (await fetch(`${srv.url}/metrics`)).text();
    for (const stage of ["end_of_speech_to_transcript", "transcript_to_first_token", "first_token_to_first_speech", "end_of_speech_to_first_speech"]) {
      expect(metrics).toMatch(new RegExp(`tutor_voice_latency_seconds_count\\{stage="${stage}"\\} [1-9]`));
    }
    await c.close();
  });

  it("hints the recognizer with the conversation's technical terms", async () => {
    const c = await WsClient.connect(srv.wsUrl);
    await signUp(c);
    fake.script(MAIN_MODEL, behave.reply("Dijkstra's algorithm uses a priority queue. It runs well on Kubernetes too."));
    const typed = await ask(c, { text: "How does Dijkstra's algorithm compare with Bellman-Ford?", teaching_mode: "qa" });
    const convId = typed.find((m) => m.type === "ai_response")!.conversation_id as string;
    stt.reset();
    stt.script(sttBehave.reply("And what about A star?"));
    const from = c.messages.length;
    start(c, { conversation_id: convId });
    await stream(c, concatAudio(silence(300), followUp, silence(1_300)));
    c.send({ type: "audio_end" });
    await c.waitFor((m) => m.type === "ai_response", 15_000, from);
    const prompt = stt.requests[0]!.prompt!;
    for (const term of ["Dijkstra", "Bellman-Ford", "priority queue", "Kubernetes"]) expect(prompt).toContain(term);
    await c.close();
  });

  it("speech during an answer barges in: barge_in, the model call stops, the new question is answered", async () => {
    const c = await WsClient.connect(srv.wsUrl);
    await signUp(c);
    stt.reset();
    let heard = 0;
    // The second transcription is slow, so a cancel that waited for it (a new
    // question replacing the old) would come after it; barge-in comes before.
    stt.setDefault(
      sttBehave.compute(() =>
        ++heard === 1 ? "Tell me everything about recursion" : sttBehave.reply("Stop, what is a base case?", { delayMs: 700 }),
      ),
    );
    fake.script(MAIN_MODEL, [
      behave.reply("Recursion is when a function calls itself. ".repeat(60), { chunkDelayMs: 40 }),
      behave.reply("A base case stops the recursion."),
    ]);
    const from = c.messages.length;
    start(c, { teaching_mode: "qa", request_id: "hands-free" });
    await stream(c, concatAudio(silence(300), question, silence(1_200)));
    await c.waitFor((m) => m.type === "ai_response_delta", 15_000, from);
    const mainCalls = fake.requests.filter((r) => r.model === MAIN_MODEL);
    const longAnswer = mainCalls.at(-1)!;
    // The student talks over the streaming answer.
    await stream(c, concatAudio(question, silence(1_300)));
    const barge = await c.waitFor((m) => m.type === "barge_in", 10_000, from);
    expect(barge.request_id).toBe("hands-free");
    const cancelled = await c.waitFor((m) => m.type === "ai_response" && m.cancelled === true, 10_000, from);
    // Stopped as the student started talking, not once their new question was understood.
    expect(stt.requests[1]?.outcome ?? "not sent yet").not.toBe("completed");
    expect(String(cancelled.text).length).toBeLessThan(60 * 44);
    expect(await longAnswer.settled).toBe("client_closed"); // the model call was aborted
    const second = await c.waitFor((m) => m.type === "ai_response" && m.message_id !== cancelled.message_id, 15_000, from);
    expect(second.text).toBe("A base case stops the recursion.");
    const after = c.messages.slice(from);
    expect(after.filter((m) => m.type === "transcription").map((m) => m.text)).toEqual([
      "Tell me everything about recursion",
      "Stop, what is a base case?",
    ]);
    const order = after.map((m) => (m.type === "ai_response" && m.cancelled ? "cancelled" : m.type));
    expect(order.indexOf("barge_in")).toBeLessThan(order.indexOf("cancelled"));
    c.send({ type: "audio_end" });
    stt.setDefault(sttBehave.reply("This is a fake transcription."));
    await c.close();
  });

  it("while the browser speaks, short bursts are ignored and sustained speech barges in", async () => {
    const c = await WsClient.connect(srv.wsUrl);
    await signUp(c);
    stt.reset();
    // ~250 ms of the spoken question: over the 100 ms minimum, under the 400 ms needed while the tutor speaks.
    const at = Math.floor(question.length * 0.3);
    const burst = question.subarray(at, at + 16 * 250);
    start(c, { teaching_mode: "qa" });

    // The tutor is silent: the burst is a question of its own.
    stt.script(sttBehave.reply("Hm?"));
    fake.script(MAIN_MODEL, behave.reply("Did you want to ask something?"));
    let from = c.messages.length;
    await stream(c, concatAudio(silence(300), burst, silence(1_300)));
    await c.waitFor((m) => m.type === "ai_response", 15_000, from);
    expect(stt.requests).toHaveLength(1);
    expect(stt.requests[0]!.wav!.durationMs).toBeLessThan(1_400);

    // The tutor speaks: the same burst is ignored (likely its own voice), sustained speech interrupts it.
    from = c.messages.length;
    c.send({ type: "playback_state", speaking: true, message_id: "m-spoken" });
    await stream(c, concatAudio(silence(300), burst, silence(1_300)));
    stt.script(sttBehave.reply("Wait, what is a binary search tree?"));
    fake.script(MAIN_MODEL, behave.reply("It is an ordered binary tree."));
    await stream(c, concatAudio(question, silence(1_300)));
    const barge = await c.waitFor((m) => m.type === "barge_in", 10_000, from);
    expect(barge.message_id).toBe("m-spoken");
    await c.waitFor((m) => m.type === "ai_response", 15_000, from);
    // The burst never went to the recognizer: the only new upload is the whole question.
    expect(stt.requests).toHaveLength(2);
    expect(stt.requests[1]!.wav!.durationMs).toBeGreaterThan((question.length / 16) * 0.8);
    const after = c.messages.slice(from);
    expect(after.filter((m) => m.type === "transcription").map((m) => m.text)).toEqual(["Wait, what is a binary search tree?"]);
    expect(after.filter((m) => m.type === "barge_in")).toHaveLength(1);
    c.send({ type: "audio_end" });
    await c.close();
  });
});
