import { describe, expect, it } from "vitest";
import { parseWav } from "@tutor/testkit";
import { HINT_PREAMBLE, vocabularyHint } from "./hint.js";
import { decodePcmFrame, encodeWav } from "./pcm.js";

describe("binary audio frames", () => {
  it("accepts whole samples at any byte offset and reads them little-endian", () => {
    const backing = Buffer.alloc(7);
    backing.writeInt16LE(-2, 1);
    backing.writeInt16LE(300, 3);
    backing.writeInt16LE(32767, 5);
    const r = decodePcmFrame(backing.subarray(1), 3200, 16000);
    expect(r).toEqual({ ok: true, samples: new Int16Array([-2, 300, 32767]) });
  });

  it("refuses empty, odd-length and oversized frames with a reason", () => {
    expect(decodePcmFrame(new Uint8Array(0), 3200, 16000)).toMatchObject({ ok: false, message: expect.stringMatching(/empty/) });
    expect(decodePcmFrame(new Uint8Array(641), 3200, 16000)).toMatchObject({ ok: false, message: expect.stringMatching(/641 bytes.*even/) });
    expect(decodePcmFrame(new Uint8Array(3202), 3200, 16000)).toMatchObject({ ok: false, message: expect.stringMatching(/100 ms.*too large.*3200/) });
    expect(decodePcmFrame(new Uint8Array(3200), 3200, 16000).ok).toBe(true);
    expect(decodePcmFrame(new Uint8Array(320), 3200, 16000).ok).toBe(true); // 10 ms (LiveKit's frame size)
  });
});

describe("WAV encoding", () => {
  it("writes a 16 kHz mono 16-bit PCM file a decoder reads back sample for sample", () => {
    const samples = new Int16Array([0, 1, -1, 32767, -32768, 1234]);
    const wav = encodeWav(samples, 16000);
    expect(wav.length).toBe(44 + 12);
    const info = parseWav(wav);
    if ("error" in info) throw new Error(info.error);
    expect(info).toMatchObject({ sampleRate: 16000, channels: 1, bitsPerSample: 16 });
    expect(Array.from(info.samples)).toEqual(Array.from(samples));
  });
});

describe("the vocabulary hint", () => {
  it("carries the conversation's technical terms, spelled as written", () => {
    const hint = vocabularyHint(
      [
        "How does Dijkstra's algorithm differ from a breadth-first search?",
        "Dijkstra's algorithm uses a priority queue; BFS uses a plain queue.",
        "And how would I deploy that on Kubernetes with PostgreSQL and IPv6?",
      ],
      480,
    );
    expect(hint.startsWith(HINT_PREAMBLE)).toBe(true);
    for (const term of ["Dijkstra", "Kubernetes", "PostgreSQL", "IPv6", "priority queue", "breadth-first search", "BFS"]) {
      expect(hint).toContain(term);
    }
    expect(hint).not.toMatch(/\bAnd\b|\bHow\b/);
  });

  it("stays within its budget and names each term once", () => {
    const texts = Array.from({ length: 6 }, (_, i) => `Term${i} with Kubernetes, Kubernetes, docker, recursion, memoization, quicksort and C++ and C#.`);
    const hint = vocabularyHint(texts, 120);
    expect(hint.length).toBeLessThanOrEqual(120);
    expect(hint.match(/Kubernetes/g)).toHaveLength(1);
  });

  it("is just the preamble without a conversation", () => {
    expect(vocabularyHint([], 480)).toBe(HINT_PREAMBLE);
  });

  it("skips code blocks (identifiers are not spoken words)", () => {
    expect(vocabularyHint(["```js\nconst fooBarBaz = useState(0)\n```"], 480)).toBe(HINT_PREAMBLE);
  });
});
