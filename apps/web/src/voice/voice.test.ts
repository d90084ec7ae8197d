// The microphone's state machine with the controller and the WebSocket client
// around it, the server played through an in-memory socket. The browser's
// microphone and SpeechRecognition are stand-ins (jsdom has neither); the
// resampler runs for real on generated tones.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { AUDIO_SAMPLE_RATE, type Conversation, type PublicConfig } from "@tutor/protocol";
import type { AppController } from "../state/controller.js";
import { answerVerify, FakeUtterance, RecordingSynth, signedInStorage, testController, testConversation } from "../test-fixtures.js";
import type { FakeSocket } from "../test-socket.js";
import { AUDIO_SAMPLE_RATE as WORKLET_RATE, FRAME_SAMPLES, Framer, Resampler, floatToS16, rms } from "./pcm.js";
import { MicError, type MicCallbacks, type MicOpener, type RecognitionLike } from "./types.js";
import { NO_VOICE_CONFIGURED } from "./voice.js";

function config(stt: "server" | "browser"): PublicConfig {
  return {
    llm: { configured: true, provider: "test", models: ["m"] },
    stt: { provider: stt },
    tts: { provider: "web", default_voice: "default" },
    livekit: { enabled: false },
    limits: { max_text_chars: 50_000, page_size: 20 },
    teaching_modes: ["teacher", "qa"],
  };
}

const conv = (id: string): Conversation => testConversation({ id });

/** A microphone the test speaks into. */
class FakeMic {
  callbacks: MicCallbacks | null = null;
  stopped = 0;
  failWith: MicError | null = null;
  opener: MicOpener = async (cb) => {
    if (this.failWith) throw this.failWith;
    this.callbacks = cb;
    return { track: { kind: "audio" } as MediaStreamTrack, stop: () => this.stopped++ };
  };
  frame(value = 3000): Int16Array {
    const pcm = new Int16Array(FRAME_SAMPLES).fill(value);
    this.callbacks?.onFrame(pcm, rms(pcm));
    return pcm;
  }
}

class FakeRecognition implements RecognitionLike {
  static last: FakeRecognition | null = null;
  lang = "";
  continuous = false;
  interimResults = false;
  onresult: RecognitionLike["onresult"] = null;
  onerror: RecognitionLike["onerror"] = null;
  onend: (() => void) | null = null;
  started = 0;
  constructor() {
    FakeRecognition.last = this;
  }
  start() {
    this.started++;
  }
  stop() {
    this.onend?.();
  }
  abort() {}
  say(text: string, isFinal: boolean) {
    const result = Object.assign([{ transcript: text }], { isFinal });
    this.onresult?.({ resultIndex: 0, results: [result] });
  }
}

let app: AppController;
let mic: FakeMic;
let sock: FakeSocket;

async function setup(stt: "server" | "browser", recognition: boolean, synth?: RecordingSynth) {
  mic = new FakeMic();
  app = testController({
    synth,
    fetchImpl: async () => new Response(JSON.stringify(config(stt)), { status: 200, headers: { "content-type": "application/json" } }),
    voice: { openMic: mic.opener, recognition: recognition ? FakeRecognition : null, finishTimeoutMs: 200 },
  });
  app.start();
  sock = await answerVerify(app);
  await vi.waitFor(() => expect(app.voice.getSnapshot().unavailable === null || app.voice.getSnapshot().engine !== "none" || stt === "browser").toBe(true));
  await vi.waitFor(() => expect(app.state.config).not.toBeNull());
}

async function openConversation(id: string) {
  const opening = app.openConversation(id);
  sock.push({ type: "conversation_data", conversation: conv(id), request_id: sock.lastOf("get_conversation").request_id! });
  await opening;
}

beforeEach(() => {
  signedInStorage();
  FakeRecognition.last = null;
});

afterEach(() => {
  app?.shutdown();
  app = undefined!;
});

describe("16 kHz frames from the microphone", () => {
  const tone = (hz: number, rate: number, seconds: number) =>
    Float32Array.from({ length: Math.round(rate * seconds) }, (_, i) => 0.5 * Math.sin((2 * Math.PI * hz * i) / rate));

  it("resamples 48 kHz to 16 kHz keeping speech-band tones and removing what would alias", () => {
    expect(WORKLET_RATE).toBe(AUDIO_SAMPLE_RATE);
    const r = new Resampler(48_000);
    const input = tone(440, 48_000, 1);
    // In 128-sample render quanta, as an AudioWorklet gets them.
    const parts: Float32Array[] = [];
    for (let i = 0; i < input.length; i += 128) parts.push(r.push(input.subarray(i, i + 128)));
    const out = Float32Array.from(parts.flatMap((p) => [...p]));
    expect(Math.abs(out.length - 16_000)).toBeLessThan(40);
    // Still a 440 Hz tone: ~880 zero crossings a second, and the same loudness.
    let crossings = 0;
    for (let i = 1; i < out.length; i++) if (out[i - 1]! < 0 !== out[i]! < 0) crossings++;
    expect(Math.abs(crossings - 880)).toBeLessThan(10);
    const s16 = floatToS16(out.subarray(200));
    expect(rms(s16)).toBeGreaterThan(0.33);
    // 12 kHz cannot exist at 16 kHz: it must be filtered out, not folded down to 4 kHz.
    const high = new Resampler(48_000).push(tone(12_000, 48_000, 0.5));
    expect(rms(floatToS16(high.subarray(100)))).toBeLessThan(0.01);
    // 44.1 kHz devices too.
    expect(Math.abs(new Resampler(44_100).push(tone(300, 44_100, 1)).length - 16_000)).toBeLessThan(40);
  });

  it("cuts the stream into whole 20 ms frames", () => {
    const f = new Framer();
    expect(f.push(new Int16Array(100))).toHaveLength(0);
    const frames = f.push(new Int16Array(600));
    expect(frames.map((x) => x.length)).toEqual([320, 320]);
    expect(FRAME_SAMPLES * 2).toBe(640); // bytes per frame: within the server's 100 ms limit
  });
});

describe("push-to-talk over the WebSocket", () => {
  it("streams between audio_start and audio_end, then shows the transcript and the question as asked", async () => {
    await setup("server", false);
    await openConversation("c1");
    app.voice.press();
    await vi.waitFor(() => expect(app.voice.getSnapshot().status).toBe("listening"));
    const start = sock.lastOf("audio_start");
    expect(start).toMatchObject({ sample_rate: 16_000, encoding: "pcm_s16le", conversation_id: "c1", teaching_mode: "qa" });
    const sent = [mic.frame(1000), mic.frame(2000)];
    expect(sock.audio).toEqual(sent);
    expect(app.voice.getLevel()).toBeGreaterThan(0);

    app.voice.release();
    expect(sock.sent.at(-1)?.type).toBe("audio_end");
    expect(mic.stopped).toBe(1);
    expect(app.voice.getSnapshot().status).toBe("finishing");
    mic.frame(); // late frames from the audio thread are not sent
    expect(sock.audio).toHaveLength(2);

    sock.push({ type: "transcription", text: "What is a", final: false, request_id: start.request_id! });
    expect(app.voice.getSnapshot().transcript).toEqual({ text: "What is a", final: false });
    sock.push({ type: "transcription", text: "What is a heap?", final: true, conversation_id: "c1", request_id: start.request_id! });
    expect(app.voice.getSnapshot()).toMatchObject({ status: "off", transcript: { text: "What is a heap?", final: true } });
    expect(app.state.pending).toMatchObject({ conversationId: "c1", label: "What is a heap?", kind: "question" });
  });

  it("shows the server's 'didn't catch that' in the voice bar, not as a general error", async () => {
    await setup("server", false);
    await openConversation("c1");
    app.voice.press();
    await vi.waitFor(() => expect(app.voice.getSnapshot().status).toBe("listening"));
    mic.frame();
    app.voice.release();
    const end = sock.lastOf("audio_end");
    sock.push({ type: "transcription", text: "", final: true, request_id: end.request_id! });
    sock.push({ type: "error", code: "invalid_message", message: "Sorry, I didn't catch that.", request_id: end.request_id! });
    expect(app.voice.getSnapshot()).toMatchObject({ status: "off", error: "Sorry, I didn't catch that." });
    expect(app.state.notices).toEqual([]);
  });

  it("a refused microphone says what to do and leaves the mic off", async () => {
    await setup("server", false);
    await openConversation("c1");
    mic.failWith = new MicError("permission", "Microphone access is blocked. Allow it.");
    app.voice.press();
    await vi.waitFor(() => expect(app.voice.getSnapshot().error).toBe("Microphone access is blocked. Allow it."));
    expect(app.voice.getSnapshot().status).toBe("off");
    expect(sock.sent.some((m) => m.type === "audio_start")).toBe(false);
  });

  it("a click instead of a hold sends nothing and explains how to talk", async () => {
    await setup("server", false);
    await openConversation("c1");
    app.voice.press();
    app.voice.release();
    await vi.waitFor(() => expect(app.voice.getSnapshot().status).toBe("off"));
    expect(app.voice.getSnapshot().error).toMatch(/Hold the microphone button/);
    expect(sock.sent.filter((m) => m.type === "audio_start" || m.type === "audio_end")).toEqual([]);
    expect(mic.stopped).toBe(1);
  });
});

describe("hands-free", () => {
  it("keeps streaming across questions, follows the open conversation, and stops on a disconnect", async () => {
    await setup("server", false);
    await openConversation("c1");
    app.voice.toggleHandsFree();
    await vi.waitFor(() => expect(app.voice.getSnapshot()).toMatchObject({ status: "listening", mode: "hands_free" }));
    const start = sock.lastOf("audio_start");
    mic.frame();
    sock.push({ type: "transcription", text: "What is a stack?", final: true, conversation_id: "c1", request_id: start.request_id! });
    expect(app.voice.getSnapshot().status).toBe("listening");
    expect(sock.sent.some((m) => m.type === "audio_end")).toBe(false);

    await openConversation("c2");
    expect(sock.lastOf("audio_start").conversation_id).toBe("c2");
    mic.frame();
    expect(sock.audio).toHaveLength(2);

    sock.drop();
    expect(app.voice.getSnapshot().status).toBe("off");
    expect(mic.stopped).toBe(1);
  });

  it("with no conversation open, starts one of the mode first", async () => {
    await setup("server", false);
    app.voice.toggleHandsFree();
    const req = await vi.waitFor(() => sock.lastOf("new_conversation"));
    expect(req.teaching_mode).toBe("qa");
    sock.push({ type: "conversation_data", conversation: conv("c9"), request_id: req.request_id! });
    await vi.waitFor(() => expect(app.voice.getSnapshot().status).toBe("listening"));
    expect(sock.lastOf("audio_start").conversation_id).toBe("c9");
  });
});

describe("barge-in", () => {
  it("tells the server while an answer is spoken aloud, and stops speaking at once on barge_in", async () => {
    (globalThis as unknown as { SpeechSynthesisUtterance: unknown }).SpeechSynthesisUtterance = FakeUtterance;
    const synth = new RecordingSynth();
    await setup("server", false, synth);
    await openConversation("c1");
    await vi.waitFor(() => expect(app.speech.getSnapshot().active).toBe(true));
    sock.push({ type: "web_tts", text: "A heap is a tree.", voice: "default", rate: 1, pitch: 1, message_id: "a1", seq: 0 });
    expect(synth.spoken).toEqual(["A heap is a tree."]);
    expect(sock.lastOf("playback_state")).toMatchObject({ speaking: true, message_id: "a1" });

    sock.push({ type: "barge_in", conversation_id: "c1", message_id: "a1" });
    expect(synth.cancels).toBe(1);
    expect(app.speech.getSnapshot().speaking).toBe(false);
    expect(sock.lastOf("playback_state")).toMatchObject({ speaking: false });
    // Later chunks of the interrupted answer stay silent.
    sock.push({ type: "web_tts", text: "It keeps order.", voice: "default", rate: 1, pitch: 1, message_id: "a1", seq: 1 });
    expect(synth.spoken).toEqual(["A heap is a tree."]);
  });
});

describe("without speech recognition on the server", () => {
  it("uses the browser's recognition and sends its final result as a text question", async () => {
    await setup("browser", true);
    await openConversation("c1");
    await vi.waitFor(() => expect(app.voice.getSnapshot().engine).toBe("browser"));
    app.voice.press();
    await vi.waitFor(() => expect(app.voice.getSnapshot().status).toBe("listening"));
    const rec = FakeRecognition.last!;
    expect(rec.started).toBe(1);
    rec.say("what is", false);
    expect(app.voice.getSnapshot().transcript).toEqual({ text: "what is", final: false });
    rec.say("what is a queue", true);
    expect(sock.lastOf("text_input")).toMatchObject({ text: "what is a queue", conversation_id: "c1" });
    app.voice.release();
    expect(app.voice.getSnapshot().status).toBe("off");
    expect(sock.sent.some((m) => m.type === "audio_start")).toBe(false);
  });

  it("without it in the browser either, the mic is unavailable and says what to configure", async () => {
    await setup("browser", false);
    await vi.waitFor(() => expect(app.voice.getSnapshot().unavailable).toBe(NO_VOICE_CONFIGURED));
    expect(NO_VOICE_CONFIGURED).toMatch(/STT_BASE_URL/);
    expect(NO_VOICE_CONFIGURED).toMatch(/GROQ_API_KEY/);
    app.voice.press();
    expect(app.voice.getSnapshot().status).toBe("off");
  });
});
