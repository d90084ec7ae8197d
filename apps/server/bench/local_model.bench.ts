// The in-process model: time per token through a real turn (WebSocket,
// session, topic guard, chain, speech chunking, storage) against the bare
// node-llama-cpp generation loop on the same prompt, same file, same settings,
// in the same run. Then, when its file is on this machine, the default model's
// time to first token and tokens/s for a typical tutoring question.
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { LlamaChat } from "node-llama-cpp";
import { systemPrompt } from "@tutor/core";
import { DEFAULT_HUB_MODEL, llamaRuntime, loadLocalModel } from "@tutor/local-llm";
import { writeTinyGguf } from "@tutor/testkit";
import type { BenchResult } from "../../../scripts/bench-types.js";
import { WsClient, signUp, startTestServer } from "../src/test-helpers.js";

const TOKENS = 400;
/** Measured rounds per side (after one warm-up round each), bare and ours alternating so load drifts hit both alike. */
const ROUNDS = 7;
const QUESTION = "How does a Python list differ from a tuple, and when should I use each?";
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
/** After a turn its title is generated on the same model in the background; let it end before the other side runs. */
const SETTLE_MS = 400;
const settle = () => new Promise((r) => setTimeout(r, SETTLE_MS));

interface Run {
  firstMs: number;
  perTokenMs: number;
}

/**
 * The same measure on both sides: from the first text to the last, per
 * character after the first piece (the tiny model writes one byte a token, so
 * a character is a token; merged pieces count by their length).
 */
class Clock {
  readonly t0 = performance.now();
  first = 0;
  last = 0;
  firstChars = 0;
  chars = 0;
  text(piece: string) {
    this.last = performance.now();
    if (!this.first) {
      this.first = this.last;
      this.firstChars = piece.length;
    }
    this.chars += piece.length;
  }
  run(): Run {
    return { firstMs: this.first - this.t0, perTokenMs: (this.last - this.first) / Math.max(1, this.chars - this.firstChars) };
  }
}

interface Side {
  round(): Promise<Run>;
  close(): Promise<void>;
}

/** The bare loop: node-llama-cpp's LlamaChat on its own sequence, nothing of ours. */
async function bare(path: string, threads: number, maxTokens: number, question = QUESTION): Promise<Side> {
  const llama = await llamaRuntime();
  const model = await llama.loadModel({ modelPath: path });
  const context = await model.createContext({ contextSize: 4096, sequences: 1, threads });
  const chat = new LlamaChat({ contextSequence: context.getSequence() });
  return {
    async round() {
      const clock = new Clock();
      await chat.generateResponse(
        [
          { type: "system", text: systemPrompt("qa") },
          { type: "user", text: question },
          { type: "model", response: [] },
        ],
        { maxTokens, temperature: 0.7, onTextChunk: (t) => clock.text(t) },
      );
      return clock.run();
    },
    async close() {
      await context.dispose();
      await model.dispose();
    },
  };
}

/** Ours: a real server with LOCAL_MODEL, one student asking over /ws. */
async function ours(path: string, threads: number, maxTokens: number, question = QUESTION): Promise<Side> {
  const srv = await startTestServer({
    env: { LOCAL_MODEL: path, LLM_CONTEXT_TOKENS: "4096" },
    configure: (cfg) => {
      if (cfg.localModel.kind === "path") Object.assign(cfg.localModel, { threads, sequences: 1 });
      cfg.turn.maxTokens = maxTokens;
      cfg.turn.deadlineMs = 600_000;
    },
  });
  const c = await WsClient.connect(srv.wsUrl);
  await signUp(c);
  while (((await (await fetch(`${srv.url}/api/config`)).json()) as { llm: { local?: { state: string } } }).llm.local?.state !== "ready") {
    await new Promise((r) => setTimeout(r, 20));
  }
  let n = 0;
  return {
    async round() {
      const from = c.messages.length;
      const rid = `b${n++}`;
      const clock = new Clock();
      c.ws.on("message", function track(data) {
        const m = JSON.parse(String(data)) as { type: string; request_id?: string; delta?: string };
        if (m.request_id !== rid) return;
        if (m.type === "ai_response_delta") clock.text(m.delta ?? "");
        if (m.type === "ai_response") c.ws.off("message", track);
      });
      c.send({ type: "text_input", text: question, teaching_mode: "qa", new_conversation: true, request_id: rid });
      const answer = await c.waitFor((m) => m.type === "ai_response" && m.request_id === rid, 600_000, from);
      if (answer.error) throw new Error(`the turn failed: ${String(answer.text)}`);
      return clock.run();
    },
    async close() {
      await c.close();
      await srv.close();
    },
  };
}

/** One warm-up round each, then ROUNDS alternating rounds. */
async function compare(a: Side, b: Side): Promise<[Run[], Run[]]> {
  const ra: Run[] = [];
  const rb: Run[] = [];
  await a.round();
  await settle();
  await b.round();
  await settle();
  for (let i = 0; i < ROUNDS; i++) {
    ra.push(await a.round());
    await settle();
    rb.push(await b.round());
    await settle();
  }
  return [ra, rb];
}

export default async function run(): Promise<BenchResult[]> {
  const dir = await mkdtemp(join(tmpdir(), "local-bench-"));
  const tiny = join(dir, "tiny.gguf");
  await writeTinyGguf(tiny);
  const load = loadavg()[0]!.toFixed(2);
  try {
    const bareSide = await bare(tiny, 1, TOKENS);
    const oursSide = await ours(tiny, 1, TOKENS);
    let b: Run[], o: Run[];
    try {
      [b, o] = await compare(bareSide, oursSide);
    } finally {
      await oursSide.close();
      await bareSide.close();
    }
    const spread = (rs: Run[]) => `${Math.min(...rs.map((r) => r.perTokenMs)).toFixed(3)}–${Math.max(...rs.map((r) => r.perTokenMs)).toFixed(3)}`;
    const bm = median(b.map((r) => r.perTokenMs));
    const om = median(o.map((r) => r.perTokenMs));
    const results: BenchResult[] = [
      {
        title: `Local model (tiny random GGUF, 1 thread): time per token, ${TOKENS} tokens, median of ${ROUNDS} alternating rounds`,
        columns: ["path", "ms per token (median)", "range", "tokens/s", "first text ms", "vs bare"],
        rows: [
          ["bare node-llama-cpp LlamaChat loop (baseline)", bm.toFixed(3), spread(b), (1000 / bm).toFixed(0), median(b.map((r) => r.firstMs)).toFixed(0), "—"],
          ["a real turn over /ws (guard, chain, speech, storage)", om.toFixed(3), spread(o), (1000 / om).toFixed(0), median(o.map((r) => r.firstMs)).toFixed(0), `${(((om - bm) / bm) * 100).toFixed(1)} %`],
        ],
        notes: [
          `Same file, prompt (the qa system prompt + "${QUESTION}"), 1 thread, temperature 0.7 and max tokens; both models loaded and warmed by one discarded round; bare and turn rounds alternate (${SETTLE_MS} ms apart, so the turn's background title never overlaps a bare round); load average at start ${load}, at end ${loadavg()[0]!.toFixed(2)}.`,
          "Per token = time from the first text to the last, divided by the characters after the first piece (one byte a token), the same on both sides.",
          "First token of the turn includes the question's storage and the topic guard's keyword check; the tiny model writes one byte a token, so its prompt is ~2,600 tokens.",
        ],
      },
    ];
    const dataModel = resolve(process.env.DATA_DIR ?? "./data", "models", DEFAULT_HUB_MODEL.file);
    if (existsSync(dataModel)) {
      const m = await loadLocalModel({ path: dataModel, contextTokens: 4096, sequences: 1 });
      const t0 = performance.now();
      let first = 0;
      let pieces = 0;
      let usage = { promptTokens: 0, completionTokens: 0 };
      for await (const _ of m.stream(
        { messages: [{ role: "system", content: systemPrompt("qa") }, { role: "user", content: QUESTION }], maxTokens: 200, onUsage: (u) => (usage = u) },
        new AbortController().signal,
      )) {
        pieces++;
        if (!first) first = performance.now() - t0;
      }
      const total = performance.now() - t0;
      await m.close();
      results.push({
        title: `Default model ${DEFAULT_HUB_MODEL.file} on this CPU`,
        columns: ["prompt tokens", "answer tokens", "time to first token ms", "tokens/s after the first"],
        rows: [[usage.promptTokens, usage.completionTokens, first.toFixed(0), ((usage.completionTokens - 1) / ((total - first) / 1000)).toFixed(1)]],
        notes: [`${pieces} streamed pieces; threads: the machine's math cores; load average at start ${load}.`],
      });
    } else {
      results.push({
        title: `Default model ${DEFAULT_HUB_MODEL.file} on this CPU`,
        columns: ["result"],
        rows: [[`not measured: ${dataModel} is not on this machine (it is downloaded on first start with LOCAL_MODEL=auto; no model hub is reachable here)`]],
      });
    }
    await (await llamaRuntime()).dispose().catch(() => {});
    return results;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
