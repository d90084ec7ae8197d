// The server voice's player inside SpeechOut, over a recording AudioContext
// (jsdom has no Web Audio): sentences are scheduled back to back, the
// speaking indicator follows them, Stop / a new question silence them at
// once and drop their late audio, volume and speed apply.
import { describe, expect, it } from "vitest";
import { SpeechOut } from "./speech.js";
import type { SpeechAudioHeader } from "./server-audio.js";

class FakeSource {
  buffer: { duration: number } | null = null;
  playbackRate = { value: 1 };
  onended: (() => void) | null = null;
  startedAt: number | undefined;
  stopped = false;
  connect() {}
  disconnect() {}
  start(at: number) {
    this.startedAt = at;
  }
  stop() {
    this.stopped = true;
  }
}

class FakeContext {
  currentTime = 10;
  state = "running";
  sources: FakeSource[] = [];
  gainNode = { gain: { value: 1 }, connect() {} };
  destination = {};
  createGain() {
    return this.gainNode;
  }
  createBuffer(_channels: number, length: number, rate: number) {
    const data = new Float32Array(length);
    return { duration: length / rate, getChannelData: () => data };
  }
  createBufferSource() {
    const s = new FakeSource();
    this.sources.push(s);
    return s;
  }
  resume() {
    return Promise.resolve();
  }
}

const header = (messageId: string, seq: number): SpeechAudioHeader => ({
  type: "speech_audio",
  message_id: messageId,
  seq,
  text: "A sentence.",
  sample_rate: 24_000,
  encoding: "pcm_s16le",
});
/** `seconds` of a quiet tone as s16le bytes. */
const pcm = (seconds: number) => new Int16Array(Math.round(24_000 * seconds)).map((_, i) => Math.round(3000 * Math.sin(i / 5))).buffer;

function setup() {
  const ctx = new FakeContext();
  const speech = new SpeechOut(undefined, () => ctx as unknown as AudioContext);
  speech.setServerVoice(true);
  return { ctx, speech };
}

describe("server voice playback", () => {
  it("is usable without browser voices and schedules each sentence exactly where the previous one ends", () => {
    const { ctx, speech } = setup();
    expect(speech.getSnapshot().active).toBe(true);
    speech.playAudio(header("m1", 0), pcm(1.5));
    speech.playAudio(header("m1", 1), pcm(2));
    const [a, b] = ctx.sources;
    expect(a!.startedAt).toBeCloseTo(10.05, 5);
    expect(b!.startedAt).toBeCloseTo(a!.startedAt! + 1.5, 5);
    expect(speech.getSnapshot()).toMatchObject({ speaking: true, messageId: "m1" });
    a!.onended?.();
    expect(speech.getSnapshot().speaking).toBe(true);
    b!.onended?.();
    expect(speech.getSnapshot()).toMatchObject({ speaking: false, messageId: null });
  });

  it("Stop silences every scheduled sentence at once and drops the answer's late audio", () => {
    const { ctx, speech } = setup();
    speech.playAudio(header("m1", 0), pcm(1));
    speech.playAudio(header("m1", 1), pcm(1));
    speech.silence();
    expect(ctx.sources.every((s) => s.stopped)).toBe(true);
    expect(speech.getSnapshot().speaking).toBe(false);
    speech.playAudio(header("m1", 2), pcm(1));
    expect(ctx.sources.length).toBe(2);
    // The next answer plays again, from now (not after the stopped ones).
    ctx.currentTime = 11;
    speech.playAudio(header("m2", 0), pcm(1));
    expect(ctx.sources[2]!.startedAt).toBeCloseTo(11.05, 5);
  });

  it("applies volume to the output and speed to the next sentences", () => {
    const { ctx, speech } = setup();
    speech.setVolume(0.4);
    speech.setRate(1.5);
    speech.playAudio(header("m1", 0), pcm(3));
    speech.playAudio(header("m1", 1), pcm(1));
    expect(ctx.gainNode.gain.value).toBeCloseTo(0.4);
    expect(ctx.sources[0]!.playbackRate.value).toBe(1.5);
    expect(ctx.sources[1]!.startedAt).toBeCloseTo(10.05 + 2, 5);
    expect(speech.getSnapshot().settings.volume).toBeCloseTo(0.4);
  });

  it("plays nothing while speech is switched off", () => {
    const { ctx, speech } = setup();
    speech.setEnabled(false);
    speech.playAudio(header("m1", 0), pcm(1));
    expect(ctx.sources).toEqual([]);
  });
});
