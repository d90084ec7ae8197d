// The segmenter on scripted probabilities: every frame carries its own index
// as sample values, so each test can see exactly which audio an utterance holds.
import { describe, expect, it } from "vitest";
import { UtteranceSegmenter, type SegmenterSettings, type Utterance } from "./segmenter.js";
import { VOICE_DEFAULTS } from "./settings.js";

const FRAME = 512; // 32 ms at 16 kHz

function run(probs: number[], overrides: Partial<SegmenterSettings> = {}, flushTail?: Int16Array) {
  const utterances: Utterance[] = [];
  const talk: number[] = [];
  const seg = new UtteranceSegmenter(
    { ...VOICE_DEFAULTS, ...overrides, frameSamples: FRAME },
    { speech: (ms) => talk.push(ms), utterance: (u) => utterances.push(u) },
  );
  probs.forEach((p, i) => seg.push(new Int16Array(FRAME).fill(i), p, 1_000 + i));
  if (flushTail) seg.flush(flushTail);
  return { utterances, talk, seg };
}

/** Frame indexes an utterance's audio came from, in order. */
const framesOf = (u: Utterance) => Array.from({ length: Math.ceil(u.pcm.length / FRAME) }, (_, k) => u.pcm[k * FRAME]);
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);
const rep = (n: number, p: number) => Array<number>(n).fill(p);

describe("UtteranceSegmenter", () => {
  it("ignores speech shorter than minSpeechMs (a click, a cough)", () => {
    const { utterances, talk } = run([...rep(10, 0), ...rep(3, 0.9), ...rep(60, 0)]);
    expect(utterances).toEqual([]);
    expect(talk).toEqual([]);
  });

  it("ends an utterance after minSilenceMs of silence, with the padding before and after", () => {
    // 20 silent frames, 10 speech frames (320 ms), then silence.
    // Counted to the nearest whole frame: 1,000 ms is 31 frames of 32 ms (the speech ended inside the last voiced one).
    const { utterances } = run([...rep(20, 0), ...rep(10, 0.9), ...rep(30, 0.1)]);
    expect(utterances).toEqual([]); // 30 × 32 ms = 960 ms: not yet
    const { utterances: done, talk } = run([...rep(20, 0), ...rep(10, 0.9), ...rep(31, 0.1)]);
    expect(done).toHaveLength(1);
    const u = done[0]!;
    expect(u.end).toBe("silence");
    // 16 frames (512 ms >= 500 ms) of prefix, the speech, 16 frames of the silence after it.
    expect(framesOf(u)).toEqual(range(4, 46));
    expect(u.speechMs).toBe(320);
    expect(u.startMs).toBe(4 * 32);
    expect(u.speechEndMs).toBe(30 * 32);
    expect(u.speechEndedAt).toBe(1_000 + 29); // arrival time of the last speech frame
    // Confirmed once 4 frames (128 ms >= 100 ms) were heard, then per speech frame.
    expect(talk).toEqual([128, 160, 192, 224, 256, 288, 320]);
  });

  it("keeps low-but-not-silent frames inside an utterance (hysteresis)", () => {
    const probs = [...rep(5, 0.9), ...rep(40, 0.4), ...rep(5, 0.9), ...rep(32, 0)];
    const { utterances } = run(probs);
    expect(utterances).toHaveLength(1);
    expect(utterances[0]!.speechMs).toBe(50 * 32);
  });

  it("a pause shorter than minSilenceMs does not split the question", () => {
    const { utterances } = run([...rep(10, 0.9), ...rep(25, 0), ...rep(10, 0.9), ...rep(40, 0)]);
    expect(utterances).toHaveLength(1);
    expect(framesOf(utterances[0]!)).toEqual(range(0, 45 + 16));
  });

  it("finds each question separated by a real pause, each with its own prefix", () => {
    const { utterances } = run([...rep(10, 0.9), ...rep(40, 0), ...rep(10, 0.9), ...rep(40, 0)]);
    expect(utterances.map((u) => u.end)).toEqual(["silence", "silence"]);
    const second = framesOf(utterances[1]!);
    expect(second[0]).toBe(50 - 16);
    expect(second).toContain(59);
  });

  it("cuts long speech into pieces at maxUtteranceMs, each starting with speech, none lost", () => {
    const probs = [...rep(200, 0.9), ...rep(40, 0)];
    const { utterances, talk } = run(probs, { maxUtteranceMs: 1_000, prefixPaddingMs: 0 });
    const pieces = utterances.map(framesOf);
    expect(utterances.map((u) => u.end)).toEqual([...rep(6, 0).map(() => "max_length"), "silence"]);
    for (const p of pieces.slice(0, -1)) expect(p.length * 32).toBeLessThanOrEqual(1_000);
    expect(pieces.flat()).toEqual(range(0, 200)); // nothing doubled or dropped
    // The talk time runs on across the cuts (barge-in sees one continuous speaker).
    expect(talk.at(-1)).toBe(200 * 32);
  });

  it("waits for speech to resume before cutting inside a pause", () => {
    // 30 speech frames, a 20-frame pause across the 1 s limit, then speech again.
    const { utterances } = run([...rep(30, 0.9), ...rep(20, 0), ...rep(10, 0.9), ...rep(40, 0)], {
      maxUtteranceMs: 1_000,
      prefixPaddingMs: 0,
    });
    expect(utterances.map((u) => u.end)).toEqual(["max_length", "silence"]);
    expect(framesOf(utterances[1]!)[0]).toBe(50); // the next piece starts on speech
  });

  it("completes an open utterance at the end of the stream, tail included; drops unconfirmed speech", () => {
    const tail = new Int16Array(100).fill(777);
    const { utterances } = run([...rep(5, 0), ...rep(10, 0.9), ...rep(3, 0)], {}, tail);
    expect(utterances).toHaveLength(1);
    expect(utterances[0]!.end).toBe("end_of_stream");
    expect(utterances[0]!.pcm.at(-1)).toBe(777);
    const { utterances: none } = run([...rep(5, 0), ...rep(2, 0.9)], {}, tail);
    expect(none).toEqual([]);
  });

  it("with minSpeechMs 0, one speech frame is enough", () => {
    const { utterances } = run([0.9, ...rep(40, 0)], { minSpeechMs: 0 });
    expect(utterances).toHaveLength(1);
  });
});
