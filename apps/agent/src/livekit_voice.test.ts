// The server voice in a real LiveKit room (TTS_PROVIDER=openai): the agent
// publishes its own audio track and speaks each sentence of an answer into
// it (the fake speech server synthesises real speech with espeak-ng); the
// student subscribes to that track and hears speech energy for every
// sentence, no `web_tts`; a cancel (barge-in over the data channel) silences
// the track, and so does the student talking over the tutor (the agent's
// voice activity detection on the student's microphone track), after which
// the spoken question is answered aloud. Needs the LiveKit server binary,
// espeak-ng and sox: skips without them, fails under REQUIRE_SERVICES=1.
import { AudioStream, RoomEvent, TrackKind, type RemoteParticipant, type RemoteTrack } from "@livekit/rtc-node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  behave,
  concatAudio,
  requireSpeechTools,
  silence,
  speak,
  startFakeStt,
  startFakeTts,
  sttBehave,
  type FakeLlm,
  type FakeStt,
  type FakeTts,
} from "@tutor/testkit";
import { TTS_SAMPLE_RATE } from "@tutor/core";
import { MAIN_MODEL } from "@tutor/server/test-helpers";
import { Student, leaveAll, liveKitServerOrSkip } from "./test-harness.js";
import { fakeSttEnv, startRoomStack, type RoomStack } from "./test-stack.js";
import { TRACK_SAMPLE_RATE, VOICE_TRACK_NAME } from "./voice-track.js";

const bin = liveKitServerOrSkip();
const speech = requireSpeechTools();
const SENTENCES = [
  "A binary search tree keeps smaller keys to the left and larger keys to the right.",
  "Lookups walk down one path from the root.",
  "Balanced trees keep that path short.",
];
const SPOKEN = "What is a binary search tree?";
const SPOKEN_ANSWER = "It is an ordered binary tree.";
/** An RMS (full scale 1) above this is speech; the track's silence and Opus noise stay far below. */
const SPEECH_RMS = 0.01;
const FRAME_MS = 20;

interface Heard {
  at: number;
  rms: number;
}

/** Records the RMS of every 20 ms frame of the agent's voice track, with its arrival time. */
function listenToAgent(student: Student): { heard: Heard[]; subscribed: Promise<string> } {
  const heard: Heard[] = [];
  let resolve!: (name: string) => void;
  const subscribed = new Promise<string>((r) => (resolve = r));
  const onTrack = (track: RemoteTrack, _pub: unknown, participant: RemoteParticipant) => {
    if (track.kind !== TrackKind.KIND_AUDIO || participant.identity === student.room.localParticipant?.identity) return;
    resolve(track.name ?? "");
    const stream = new AudioStream(track, { sampleRate: TRACK_SAMPLE_RATE, numChannels: 1, frameSizeMs: FRAME_MS });
    void (async () => {
      for await (const frame of stream) {
        let sum = 0;
        for (const s of frame.data) sum += s * s;
        heard.push({ at: performance.now(), rms: Math.sqrt(sum / Math.max(1, frame.data.length)) / 32768 });
      }
    })().catch(() => undefined);
  };
  student.room.on(RoomEvent.TrackSubscribed, onTrack);
  return { heard, subscribed };
}

async function until(pred: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe.skipIf(!bin || !speech)("LiveKit: the agent speaks with the server voice", { timeout: 120_000 }, () => {
  let stack: RoomStack;
  let fake: FakeLlm;
  let tts: FakeTts;
  let stt: FakeStt;

  beforeAll(async () => {
    [tts, stt] = await Promise.all([startFakeTts(), startFakeStt()]);
    const voice = { TTS_PROVIDER: "openai", TTS_BASE_URL: tts.url, TTS_MODEL: "kokoro", TTS_VOICE: "af_heart", ...fakeSttEnv(stt) };
    stack = await startRoomStack(bin!, { prefix: "lkvoice", env: voice });
    fake = stack.fake;
  });

  afterEach(async () => {
    await leaveAll(stack.students);
  });

  afterAll(async () => {
    await stack?.close();
    await tts?.close();
    await stt?.close();
  });

  /** A student who listens to the agent's tracks from before joining (the voice track is published before the ready signal). */
  async function joinedStudent() {
    const student = new Student();
    const listening = listenToAgent(student);
    await stack.joinedStudent(student);
    return { student, ...listening };
  }

  it("publishes a voice track and speaks every sentence into it; the browser is sent no web_tts", async () => {
    const { student, heard, subscribed } = await joinedStudent();
    // Published before the ready signal, so the track is there before the first answer.
    expect(await subscribed).toBe(VOICE_TRACK_NAME);
    fake.script(MAIN_MODEL, behave.reply(SENTENCES.join(" "), { chunkDelayMs: 5 }));
    const final = await student.request({ type: "text_input", text: "What is a binary search tree?", teaching_mode: "qa" }, "ai_response", 60_000);
    await student.waitFor((m) => m.type === "tts_complete" && m.message_id === final.message_id, 60_000);
    const mine = student.messages.filter((m) => m.message_id === final.message_id);
    expect(mine.filter((m) => m.type === "web_tts")).toEqual([]);
    const headers = mine.filter((m) => m.type === "speech_audio");
    expect(headers.map((m) => [m.seq, m.text])).toEqual(SENTENCES.map((s, i) => [i, s]));

    // Each sentence's length as synthesised (24 kHz s16le); the track plays them back to back.
    const synthesised = SENTENCES.map((s) => tts.requests.find((r) => r.input === s)!);
    const durationsMs = synthesised.map((r) => (r.audioBytes / 2 / TTS_SAMPLE_RATE) * 1000);
    const total = durationsMs.reduce((a, b) => a + b, 0);
    await until(() => heard.some((h) => h.rms > SPEECH_RMS), 30_000, "speech on the agent's track");
    const start = heard.find((h) => h.rms > SPEECH_RMS)!.at;
    // Wait until the whole answer has had time to play out, and a little more.
    await until(() => heard.length > 0 && heard.at(-1)!.at > start + total + 1_000, 60_000, "the answer to play out");

    // Speech energy in the time slot of every sentence (espeak starts each with a few ms of silence).
    let from = start;
    for (const [i, ms] of durationsMs.entries()) {
      const slot = heard.filter((h) => h.at >= from && h.at < from + ms);
      const voiced = slot.filter((h) => h.rms > SPEECH_RMS).length;
      expect(voiced, `sentence ${i}: voiced frames of ${slot.length}`).toBeGreaterThan(slot.length * 0.3);
      from += ms;
    }
    // All of it arrives: the voiced span is about the sum of the sentences (resampling keeps the length).
    const voiced = heard.filter((h) => h.rms > SPEECH_RMS);
    const span = voiced.at(-1)!.at - voiced[0]!.at;
    expect(span).toBeGreaterThan(total * 0.8);
    expect(span).toBeLessThan(total * 1.25 + 500);
  });

  it("goes silent when the student cancels (barge-in over the data channel) and says nothing more of that answer", async () => {
    const { student, heard, subscribed } = await joinedStudent();
    await subscribed;
    const sentence = "Recursion is a function calling itself on a smaller part of the problem.";
    fake.script(MAIN_MODEL, behave.reply(`${sentence} `.repeat(30), { chunkDelayMs: 2 }));
    await student.send({ type: "text_input", text: "Explain recursion in depth", teaching_mode: "qa", request_id: "long" });
    await student.waitFor((m) => m.type === "speech_audio" && m.request_id === "long", 60_000);
    await until(() => heard.some((h) => h.rms > SPEECH_RMS), 30_000, "speech on the agent's track");
    // Well into the answer (about three seconds of speech), then barge in.
    await new Promise((r) => setTimeout(r, 3_000));
    const cancelledAt = performance.now();
    const from = student.messages.length;
    await student.send({ type: "cancel_response" });
    const final = await student.waitFor((m) => m.type === "ai_response" && m.request_id === "long", 30_000);
    await until(() => heard.length > 0 && heard.at(-1)!.at > cancelledAt + 3_000, 30_000, "three seconds of the track after the cancel");
    // The data packet, the source's cleared queue and the jitter buffer: silent within half a second, and it stays so.
    const after = heard.filter((h) => h.at > cancelledAt + 500);
    expect(after.length).toBeGreaterThan(100);
    expect(after.filter((h) => h.rms > SPEECH_RMS)).toEqual([]);
    // The answer ran on in text terms (it was fully generated), yet no more of it was spoken.
    expect(final.type).toBe("ai_response");
    const later = student.messages.slice(from).filter((m) => m.type === "speech_audio" || m.type === "web_tts" || m.type === "tts_complete");
    expect(later.filter((m) => m.type !== "speech_audio")).toEqual([]);
    expect(later.length).toBeLessThanOrEqual(1); // at most the header already on its way
  });

  it("goes silent when the student talks over it (a short burst is not enough), then answers the spoken question aloud", async () => {
    const { student, heard, subscribed } = await joinedStudent();
    await subscribed;
    const question = await speak(SPOKEN);
    // ~120 ms of the question: speech (server voice_ws.test.ts shows 250 ms from there is a question of its own
    // when the tutor is silent), under the 400 ms needed while the tutor is audible. Through Opus and the
    // detector's hangover it scores 190-260 ms of speech (250 ms of audio scored 290-420: too close).
    const at = Math.floor(question.length * 0.3);
    const burst = question.subarray(at, at + 16 * 120);
    stt.reset();
    stt.script(sttBehave.reply(SPOKEN));
    const sentence = "Recursion is a function calling itself on a smaller part of the problem.";
    fake.script(MAIN_MODEL, [behave.reply(`${sentence} `.repeat(30), { chunkDelayMs: 2 }), behave.reply(SPOKEN_ANSWER)]);
    await student.openMic();
    await student.send({ type: "text_input", text: "Explain recursion in depth", teaching_mode: "qa", request_id: "long" });
    const first = await student.waitFor((m) => m.type === "speech_audio" && m.request_id === "long", 60_000);
    const longId = first.message_id as string;
    await until(() => heard.some((h) => h.rms > SPEECH_RMS), 30_000, "speech on the agent's track");

    // The echo rule holds in a room too (the agent reports its own playback): a short burst while the
    // tutor is audible is most likely its voice leaking past echo cancellation — ignored, not transcribed.
    const burstAt = performance.now();
    await student.speak(concatAudio(burst, silence(1_300)));
    await new Promise((r) => setTimeout(r, 1_000)); // the source queues up to a second ahead of the room
    expect(student.messages.filter((m) => m.type === "barge_in")).toEqual([]);
    expect(stt.requests).toHaveLength(0);
    const meanwhile = heard.filter((h) => h.at > burstAt + 500);
    expect(meanwhile.filter((h) => h.rms > SPEECH_RMS).length, "voiced frames while the burst was ignored").toBeGreaterThan(meanwhile.length * 0.3);

    // Sustained speech at the start of a sentence (its header has just come: seconds of it still to play).
    let from = student.messages.length;
    await student.waitFor((m) => m.type === "speech_audio" && m.message_id === longId, 30_000, from);
    from = student.messages.length;
    const stamp = (m: Record<string, unknown>) => ({ m, at: performance.now() });
    const bargeIn = student.waitFor((m) => m.type === "barge_in", 30_000, from).then(stamp);
    const reply = student.waitFor((m) => m.type === "speech_audio" && m.message_id !== longId, 60_000, from).then(stamp);
    await student.speak(concatAudio(question, silence(1_300)));
    const barge = await bargeIn;
    expect(barge.m.message_id).toBe(longId);
    const answer = await reply;
    expect(answer.m.text).toBe(SPOKEN_ANSWER);
    const newId = answer.m.message_id as string;
    // Silent within half a second of the barge-in, and it stays so until the new answer speaks.
    const gap = heard.filter((h) => h.at > barge.at + 500 && h.at < answer.at);
    expect(gap.length, "frames between the barge-in and the new answer").toBeGreaterThan(25);
    expect(gap.filter((h) => h.rms > SPEECH_RMS)).toEqual([]);
    await student.waitFor((m) => m.type === "tts_complete" && m.message_id === newId, 60_000, from);
    const answerMs = (tts.requests.findLast((r) => r.input === SPOKEN_ANSWER)!.audioBytes / 2 / TTS_SAMPLE_RATE) * 1000;
    await until(() => heard.length > 0 && heard.at(-1)!.at > answer.at + answerMs + 1_500, 60_000, "the new answer to play out");

    // The new answer is heard, and nothing of the old one follows it: the voiced span is that one sentence.
    const voiced = heard.filter((h) => h.at >= answer.at && h.rms > SPEECH_RMS);
    expect(voiced.length, "voiced frames of the new answer").toBeGreaterThan(answerMs / FRAME_MS / 3);
    expect(voiced.at(-1)!.at - voiced[0]!.at).toBeLessThan(answerMs + 500);

    const after = student.messages.slice(from);
    expect(after.filter((m) => m.type === "barge_in")).toHaveLength(1);
    expect(after.filter((m) => m.message_id === longId && m.type === "speech_audio").length).toBeLessThanOrEqual(1); // at most the header on its way
    expect(after.filter((m) => m.message_id === longId && m.type === "tts_complete")).toEqual([]);
    expect(after.filter((m) => m.type === "transcription" && m.final).map((m) => m.text)).toEqual([SPOKEN]);
    expect(after.filter((m) => m.type === "web_tts")).toEqual([]);
    // One upload, the whole question after its trip through WebRTC: the burst never reached the recognizer.
    expect(stt.requests).toHaveLength(1);
    expect(stt.requests[0]!.wav!.durationMs).toBeGreaterThan((question.length / 16) * 0.8);
  });
});
