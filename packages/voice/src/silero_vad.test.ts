// Silero VAD on real audio (espeak-ng speech, sox noise), through the same
// VoiceInput + segmenter the server uses: the number of utterances found is
// what a student would notice (one question heard as one, noise heard as none).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemClock, voiceSettings, VoiceInput, type Utterance } from "@tutor/core";
import { concatAudio, noise, pcmFrames, requireSpeechTools, silence, speak } from "@tutor/testkit";
import { SILERO_FRAME_SAMPLES, SileroVad } from "./silero.js";

const enabled = requireSpeechTools();

async function utterancesOf(vad: SileroVad, audio: Int16Array, overrides = {}): Promise<Utterance[]> {
  const found: Utterance[] = [];
  const input = new VoiceInput(
    vad.createVad,
    { speech() {}, utterance: (u) => found.push(u), failed: (err) => { throw err; } },
    voiceSettings(overrides),
    systemClock,
  );
  for (const frame of pcmFrames(audio, 20)) {
    const r = input.push(frame);
    if (!r.ok) throw new Error(r.message);
    if (r.backlogged) await input.drained();
  }
  await input.end();
  return found;
}

describe.runIf(enabled)("Silero VAD on real audio", () => {
  let vad: SileroVad;
  let sentences: Int16Array[];
  beforeAll(async () => {
    vad = await SileroVad.load({ workers: 1 });
    sentences = await Promise.all([
      speak("What is a binary search tree?"),
      speak("How does Dijkstra's algorithm find the shortest path?"),
      speak("Explain recursion with a simple example."),
    ]);
  });
  afterAll(async () => {
    await vad?.close();
  });

  it("finds one utterance per sentence when the speaker pauses between them", async () => {
    const [a, b, c] = sentences as [Int16Array, Int16Array, Int16Array];
    const audio = concatAudio(silence(700), a, silence(1_800), b, silence(2_000), c, silence(1_500));
    const found = await utterancesOf(vad, audio);
    expect(found.map((u) => u.end)).toEqual(["silence", "silence", "silence"]);
    // Each holds its sentence: at least its voiced length, at most it plus the padding.
    for (const [i, u] of found.entries()) {
      const spokenMs = (sentences[i]!.length / 16) | 0;
      expect(u.pcm.length / 16).toBeGreaterThan(spokenMs * 0.8);
      expect(u.pcm.length / 16).toBeLessThan(spokenMs + 1_200);
    }
    // In order, and where they were spoken (stream time).
    expect(found[0]!.startMs).toBeLessThan(700);
    expect(found[1]!.startMs).toBeGreaterThan(found[0]!.speechEndMs);
    expect(found[2]!.startMs).toBeGreaterThan(found[1]!.speechEndMs);
  });

  it("keeps sentences with short pauses together as one question", async () => {
    const [a, b] = sentences as [Int16Array, Int16Array];
    const found = await utterancesOf(vad, concatAudio(silence(300), a, silence(400), b, silence(1_500)));
    expect(found).toHaveLength(1);
    expect(found[0]!.pcm.length).toBeGreaterThan(a.length + b.length);
  });

  it("completes an utterance that is still open when the stream ends (audio_end)", async () => {
    const found = await utterancesOf(vad, concatAudio(silence(300), sentences[0]!));
    expect(found.map((u) => u.end)).toEqual(["end_of_stream"]);
  });

  it("hears nothing in pure silence", async () => {
    expect(await utterancesOf(vad, silence(5_000))).toEqual([]);
  });

  it.each(["whitenoise", "pinknoise", "brownnoise"] as const)("hears nothing in %s", async (kind) => {
    expect(await utterancesOf(vad, await noise(5_000, kind, 0.3))).toEqual([]);
  });

  it("cuts continuous speech at the maximum length and keeps every piece", async () => {
    // ~20 s of talk with sentence pauses under a second, cut at 6 s.
    const parts: Int16Array[] = [];
    for (let i = 0; i < 3; i++) for (const s of sentences) parts.push(s, silence(300));
    const talk = concatAudio(...parts);
    const found = await utterancesOf(vad, concatAudio(talk, silence(1_500)), { maxUtteranceMs: 6_000 });
    expect(found.length).toBeGreaterThanOrEqual(3);
    expect(found.slice(0, -1).every((u) => u.end === "max_length")).toBe(true);
    expect(found.at(-1)!.end).toBe("silence");
    for (const u of found) expect(u.pcm.length / 16).toBeLessThanOrEqual(6_000 + 1_000);
    // Nothing lost or doubled at the cuts.
    const total = found.reduce((n, u) => n + u.pcm.length, 0);
    expect(total).toBeGreaterThan(talk.length * 0.95);
    expect(total).toBeLessThan(talk.length + 16 * 1_100);
  });

  it("scores streams batched together exactly as each one alone", async () => {
    const audio = concatAudio(silence(200), sentences[1]!, silence(500));
    const whole = audio.subarray(0, Math.floor(audio.length / SILERO_FRAME_SAMPLES) * SILERO_FRAME_SAMPLES);
    const alone = await (await vad.createVad()).probabilities(whole);
    const streams = await Promise.all([vad.createVad(), vad.createVad(), vad.createVad()]);
    const together = await Promise.all(streams.map((s) => s.probabilities(whole)));
    for (const p of together) expect(Array.from(p)).toEqual(Array.from(alone));
    // Speech scores high somewhere, silence low at the start.
    expect(Math.max(...alone)).toBeGreaterThan(0.9);
    expect(alone[0]).toBeLessThan(0.1);
    for (const s of streams) s.close();
  });

  it("refuses frames that are not whole detector frames, and a closed stream", async () => {
    const s = await vad.createVad();
    await expect(s.probabilities(new Int16Array(100))).rejects.toThrow(/multiple of 512/);
    s.close();
    await expect(s.probabilities(new Int16Array(512))).rejects.toThrow(/closed/);
  });
});
