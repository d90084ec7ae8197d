// Concurrent streamed turns against the local fake server: what the SDK
// adapter and the model chain cost on top of a bare fetch + SSE split, and
// what a fallback (first model answers 503) adds. Same server, same answer.
import { ModelChain } from "@tutor/core";
import { behave, startFakeLlm } from "@tutor/testkit";
import type { BenchResult } from "../../../scripts/bench-types.js";
import { createOpenAIChatModel } from "../src/index.js";

const CHUNKS = 40;
const ANSWER = Array.from({ length: CHUNKS }, (_, i) => `word${i} `);
const LEVELS = [50, 300];
const ROUNDS = 3;

interface Sample {
  firstMs: number;
  totalMs: number;
  chars: number;
}

type Turn = (signal: AbortSignal) => AsyncIterable<string>;

async function runLevel(concurrency: number, turn: Turn): Promise<{ wallMs: number; samples: Sample[] }> {
  const signal = new AbortController().signal;
  const started = performance.now();
  const samples = await Promise.all(
    Array.from({ length: concurrency }, async () => {
      const t0 = performance.now();
      let first = 0;
      let chars = 0;
      for await (const d of turn(signal)) {
        if (!first) first = performance.now() - t0;
        chars += d.length;
      }
      return { firstMs: first, totalMs: performance.now() - t0, chars };
    }),
  );
  return { wallMs: performance.now() - started, samples };
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const ms = (x: number) => x.toFixed(1);

export default async function run(): Promise<BenchResult> {
  const fake = await startFakeLlm({ recordLimit: 100 });
  fake.setDefault("main", behave.reply(ANSWER.join(""), { chunks: ANSWER }));
  fake.setDefault("down", behave.error(503));
  const messages = [{ role: "user" as const, content: "Explain recursion briefly." }];

  const rawFetch: Turn = async function* (signal) {
    const res = await fetch(`${fake.url}/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "main", stream: true, messages }),
      signal,
    });
    const decoder = new TextDecoder();
    let buf = "";
    for await (const bytes of res.body!) {
      buf += decoder.decode(bytes as Uint8Array, { stream: true });
      let end: number;
      while ((end = buf.indexOf("\n\n")) !== -1) {
        const event = buf.slice(0, end);
        buf = buf.slice(end + 2);
        const data = event.slice(6);
        if (data === "[DONE]") return;
        const content = (JSON.parse(data) as { choices: { delta: { content?: string } }[] }).choices[0]?.delta.content;
        if (content) yield content;
      }
    }
  };

  const model = createOpenAIChatModel({ baseURL: fake.url, model: "main" });
  const adapter: Turn = (signal) => model.stream({ messages, timeoutMs: 10_000 }, signal);

  const chain = new ModelChain([model], { attemptTimeoutMs: 10_000 });
  const viaChain: Turn = async function* (signal) {
    for await (const p of chain.stream({ messages }, { signal })) yield p.delta;
  };

  // No breaker, no backoff and one try per model, so every turn pays exactly
  // one 503 round trip before the fallback answers.
  const down = createOpenAIChatModel({ baseURL: fake.url, model: "down" });
  const fallbackChain = new ModelChain([down, model], {
    attemptTimeoutMs: 10_000,
    breakerThreshold: 1e9,
    maxAttemptsPerModel: 1,
    retryDelaysMs: { unavailable: [0] },
  });
  const viaFallback: Turn = async function* (signal) {
    for await (const p of fallbackChain.stream({ messages }, { signal })) yield p.delta;
  };

  const variants: [string, Turn][] = [
    ["fetch + SSE split (baseline)", rawFetch],
    ["OpenAI adapter", adapter],
    ["ModelChain -> adapter", viaChain],
    ["ModelChain, first model 503 -> fallback", viaFallback],
  ];

  const rows: (string | number)[][] = [];
  try {
    await runLevel(20, rawFetch); // warm-up: JIT, sockets
    await runLevel(20, adapter);
    for (const concurrency of LEVELS) {
      // Rounds interleave the variants so a busy machine slows them alike.
      const walls = variants.map(() => [] as number[]);
      const pooled = variants.map(() => [] as Sample[]);
      for (let round = 0; round < ROUNDS; round++) {
        for (const [v, [name, turn]] of variants.entries()) {
          const { wallMs, samples } = await runLevel(concurrency, turn);
          const expected = ANSWER.join("").length;
          if (samples.some((s) => s.chars !== expected)) throw new Error(`${name}: an answer came back incomplete`);
          walls[v]!.push(wallMs);
          pooled[v]!.push(...samples);
        }
      }
      for (const [v, [name]] of variants.entries()) {
        const samples = pooled[v]!;
        rows.push([
          concurrency,
          name,
          Math.round((concurrency / pct(walls[v]!, 50)) * 1000),
          ms(pct(samples.map((s) => s.firstMs), 50)),
          ms(pct(samples.map((s) => s.firstMs), 95)),
          ms(pct(samples.map((s) => s.totalMs), 50)),
          ms(pct(samples.map((s) => s.totalMs), 95)),
        ]);
      }
    }
  } finally {
    await fake.close();
  }

  return {
    title: "LLM streaming: concurrent turns through the adapter and the model chain",
    columns: ["concurrent turns", "path", "turns/s", "first delta p50 ms", "first delta p95 ms", "turn p50 ms", "turn p95 ms"],
    rows,
    notes: [
      `turns/s is the median over ${ROUNDS} interleaved rounds; latencies pool all rounds. Each turn streams a ${CHUNKS}-chunk answer from the local fake OpenAI-compatible server (no artificial delays), all turns started at once; client and server share one process, so the figures are an upper bound on our own overhead, not a provider's latency.`,
      "Baseline: plain fetch with a hand-split SSE parser over the same server in the same run.",
    ],
  };
}
