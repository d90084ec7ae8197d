// VoiceInput's queueing rules, with a detector the test releases by hand
// (the real Silero detector is exercised in packages/voice on real audio).
import { describe, expect, it } from "vitest";
import { systemClock, type VoiceActivityDetector } from "../ports.js";
import type { Utterance } from "./segmenter.js";
import { voiceSettings } from "./settings.js";
import { VoiceInput } from "./voice-input.js";

const FRAME = 512;

/** Scores frames whose first sample is >= 1000 as speech; each call waits until released. */
function gatedVad() {
  const calls: { frames: number; release: () => void }[] = [];
  const sizes: number[] = []; // frames per call, in order
  let open = 0;
  let maxOpen = 0;
  let closed = false;
  let auto = false;
  const vad: VoiceActivityDetector = {
    sampleRate: 16000,
    frameSamples: FRAME,
    probabilities(pcm) {
      open++;
      maxOpen = Math.max(maxOpen, open);
      return new Promise((resolve) => {
        const release = () => {
          open--;
          resolve(Float32Array.from({ length: pcm.length / FRAME }, (_, i) => (pcm[i * FRAME]! >= 1000 ? 0.9 : 0.05)));
        };
        calls.push({ frames: pcm.length / FRAME, release });
        sizes.push(pcm.length / FRAME);
        if (auto) release();
      });
    },
    close() {
      closed = true;
    },
  };
  /** Answers the waiting call and every later one at once. */
  const releaseAll = () => {
    auto = true;
    for (const c of calls.splice(0)) c.release();
  };
  return { vad, calls, sizes, releaseAll, maxOpen: () => maxOpen, closed: () => closed };
}

/** `ms` of audio at a constant sample value, as 20 ms little-endian frames. */
function frames(ms: number, value: number): Buffer[] {
  const out: Buffer[] = [];
  for (let t = 0; t < ms; t += 20) out.push(Buffer.alloc(640, 0).fill(Buffer.from(new Int16Array([value]).buffer)));
  return out;
}

const tick = () => new Promise((r) => setImmediate(r));

describe("VoiceInput", () => {
  it("scores frames in order, one call at a time, batching what queued meanwhile", async () => {
    const g = gatedVad();
    const found: Utterance[] = [];
    const input = new VoiceInput(async () => g.vad, { speech() {}, utterance: (u) => found.push(u), failed: (e) => { throw e; } }, voiceSettings(), systemClock);
    for (const f of [...frames(1_000, 0), ...frames(1_000, 2000), ...frames(1_500, 0)]) expect(input.push(f).ok).toBe(true);
    await tick();
    expect(g.calls).toHaveLength(1); // the rest waits for the first call
    g.releaseAll();
    await input.end();
    expect(g.maxOpen()).toBe(1);
    // Everything queued before the detector was ready goes in as batches of at most maxBatchFrames.
    expect(g.sizes).toEqual([64, 45]);
    expect(g.sizes.reduce((a, b) => a + b, 0)).toBe(Math.floor((3_500 * 16) / FRAME));
    expect(found).toHaveLength(1);
    expect(g.closed()).toBe(true);
  });

  it("asks the transport to slow down past the high-water mark and drops frames past the limit", async () => {
    const g = gatedVad();
    const failures: unknown[] = [];
    const input = new VoiceInput(async () => g.vad, { speech() {}, utterance() {}, failed: (e) => failures.push(e) }, voiceSettings({ backlogHighWaterMs: 200, backlogLimitMs: 400 }), systemClock);
    const results = frames(500, 0).map((f) => input.push(f));
    expect(results.slice(0, 10).every((r) => r.ok && !r.backlogged)).toBe(true);
    expect(results[11]).toEqual({ ok: true, backlogged: true });
    expect(results[20]).toMatchObject({ ok: false, message: expect.stringMatching(/faster than it can be processed.*dropped/) });
    let drained = false;
    void input.drained().then(() => (drained = true));
    await tick();
    expect(drained).toBe(false);
    g.releaseAll();
    await input.drained();
    await tick();
    expect(drained).toBe(true);
    expect(input.push(frames(20, 0)[0]!)).toEqual({ ok: true, backlogged: false });
    expect(failures).toEqual([]);
    input.close();
  });

  it("reports a detector that cannot start, and refuses audio afterwards", async () => {
    const failures: unknown[] = [];
    const input = new VoiceInput(() => Promise.reject(new Error("no model")), { speech() {}, utterance() {}, failed: (e) => failures.push(e) }, voiceSettings(), systemClock);
    input.push(frames(100, 0)[0]!);
    for (let i = 0; i < 4; i++) input.push(frames(20, 0)[0]!);
    await tick();
    await tick();
    expect(failures).toEqual([new Error("no model")]);
    expect(input.push(frames(20, 0)[0]!)).toMatchObject({ ok: false, message: expect.stringMatching(/closed/) });
  });

  it("end() completes an open utterance with the samples that did not fill a detector frame", async () => {
    const g = gatedVad();
    const found: Utterance[] = [];
    const input = new VoiceInput(async () => g.vad, { speech() {}, utterance: (u) => found.push(u), failed: (e) => { throw e; } }, voiceSettings(), systemClock);
    for (const f of [...frames(300, 0), ...frames(500, 3000)]) input.push(f);
    const ending = input.end();
    g.releaseAll();
    await ending;
    expect(found).toHaveLength(1);
    expect(found[0]!.end).toBe("end_of_stream");
    // Every speech sample made it in, including the partial frame at the end.
    const speechSamples = found[0]!.pcm.filter((s) => s === 3000).length;
    expect(speechSamples).toBe(500 * 16);
  });
});
