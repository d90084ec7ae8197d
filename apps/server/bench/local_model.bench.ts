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
const ROUNDS = 3;
const QUESTION = "How does a Python list differ from a tuple, and when should I use each?";
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface Run {
  firstMs: number;
  perTokenMs: number;
  tokens: number;
}

/** The bare loop: node-llama-cpp's LlamaChat on its own sequence, nothing of ours. */
async function bare(path: string, threads: number, maxTokens: number, question = QUESTION): Promise<Run[]> {
  const llama = await llamaRuntime();
  const model = await llama.loadModel({ modelPath: path });
  const context = await model.createContext({ contextSize: 4096, sequences: 1, threads });
  const chat = new LlamaChat({ contextSequence: context.getSequence() });
  const runs: Run[] = [];
  try {
    for (let i = 0; i < ROUNDS; i++) {
      const t0 = performance.now();
      let first = 0;
      let last = 0;
      let tokens = 0;
      await chat.generateResponse(
        [
          { type: "system", text: systemPrompt("qa") },
          { type: "user", text: question },
          { type: "model", response: [] },
        ],
        {
          maxTokens,
          temperature: 0.7,
          onTextChunk: () => {
            last = performance.now();
            if (!first) first = last;
          },
          onToken: (t) => (tokens += t.length),
        },
      );
      runs.push({ firstMs: first - t0, perTokenMs: (last - first) / Math.max(1, tokens - 1), tokens });
    }
  } finally {
    await context.dispose();
    await model.dispose();
  }
  return runs;
}

/** Ours: a real server with LOCAL_MODEL, one student asking over /ws. */
async function ours(path: string, threads: number, maxTokens: number, question = QUESTION): Promise<Run[]> {
  const srv = await startTestServer({
    env: { LOCAL_MODEL: path, LLM_CONTEXT_TOKENS: "4096" },
    configure: (cfg) => {
      if (cfg.localModel.kind === "path") Object.assign(cfg.localModel, { threads, sequences: 1 });
      cfg.turn.maxTokens = maxTokens;
      cfg.turn.deadlineMs = 600_000;
    },
  });
  const c = await WsClient.connect(srv.wsUrl);
  const runs: Run[] = [];
  try {
    await signUp(c);
    while (((await (await fetch(`${srv.url}/api/config`)).json()) as { llm: { local?: { state: string } } }).llm.local?.state !== "ready") {
      await new Promise((r) => setTimeout(r, 20));
    }
    for (let i = 0; i < ROUNDS; i++) {
      const from = c.messages.length;
      const t0 = performance.now();
      let first = 0;
      let last = 0;
      const rid = `b${i}`;
      c.ws.on("message", function track(data) {
        const m = JSON.parse(String(data)) as { type: string; request_id?: string };
        if (m.request_id !== rid) return;
        if (m.type === "ai_response_delta") {
          last = performance.now();
          if (!first) first = last;
        }
        if (m.type === "ai_response") c.ws.off("message", track);
      });
      c.send({ type: "text_input", text: question, teaching_mode: "qa", new_conversation: true, request_id: rid });
      const answer = await c.waitFor((m) => m.type === "ai_response" && m.request_id === rid, 600_000, from);
      if (answer.error) throw new Error(`the turn failed: ${String(answer.text)}`);
      // The tiny model writes one byte per token and never stops early: tokens = max tokens.
      runs.push({ firstMs: first - t0, perTokenMs: (last - first) / Math.max(1, maxTokens - 1), tokens: maxTokens });
    }
  } finally {
    await c.close();
    await srv.close();
  }
  return runs;
}

export default async function run(): Promise<BenchResult[]> {
  const dir = await mkdtemp(join(tmpdir(), "local-bench-"));
  const tiny = join(dir, "tiny.gguf");
  await writeTinyGguf(tiny);
  const load = loadavg()[0]!.toFixed(2);
  try {
    const b = await bare(tiny, 1, TOKENS);
    const o = await ours(tiny, 1, TOKENS);
    const bm = median(b.map((r) => r.perTokenMs));
    const om = median(o.map((r) => r.perTokenMs));
    const results: BenchResult[] = [
      {
        title: `Local model (tiny random GGUF, 1 thread): time per token, ${TOKENS} tokens, median of ${ROUNDS}`,
        columns: ["path", "ms per token", "tokens/s", "first token ms", "vs bare"],
        rows: [
          ["bare node-llama-cpp LlamaChat loop (baseline)", bm.toFixed(3), (1000 / bm).toFixed(0), median(b.map((r) => r.firstMs)).toFixed(0), "—"],
          ["a real turn over /ws (guard, chain, speech, storage)", om.toFixed(3), (1000 / om).toFixed(0), median(o.map((r) => r.firstMs)).toFixed(0), `${(((om - bm) / bm) * 100).toFixed(1)} %`],
        ],
        notes: [
          `Same file, prompt (the qa system prompt + "${QUESTION}"), temperature 0.7 and max tokens; load average at start ${load}.`,
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
