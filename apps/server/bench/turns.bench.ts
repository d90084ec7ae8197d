// Text turns over the WebSocket against the fake LLM answering instantly:
// turns per second and server overhead (time to first ai_response_delta minus
// the LLM's own time to first token), at 50 and 200 concurrent sessions,
// persistence included. The server runs as its own process (the production
// bundle); this process is the load: fake LLM + WebSocket clients.
// Baseline in the same run: the bare OpenAI-compatible adapter streaming the
// same answers from the same fake server, without our server in between.
import { mkdtemp, rm } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { createOpenAIChatModel } from "@tutor/llm";
import { behave, startFakeLlm, type FakeLlm } from "@tutor/testkit";
import type { BenchResult } from "../../../scripts/bench-types.js";
import { ANSWER, CHUNKS, adapterOpenLoop, cpuSeconds, ms, openSessions, pct, serverOpenLoop, startBenchServer, turn, type Errors } from "./ws-load.js";

// `rate`: the open-loop level's offered turns/s (about half of what one busy
// run of this machine serves), where latency is the server's, not queueing.
const LEVELS = [
  { sessions: 50, turns: 1500, rate: 100 },
  { sessions: 200, turns: 3000, rate: 200 },
];
const OPEN_LOOP_SECONDS = 8;
const SLICES = 4;

async function serverLevel(wsUrl: string, serverPid: number, sessions: number, totalTurns: number, run: string, first: number) {
  const conns = await openSessions(wsUrl, sessions, run, first);
  const errors: Errors = { count: 0 };
  // Warm-up: two turns per session, not measured.
  await Promise.all(conns.map(async (c, i) => (await turn(c, -1 - i, true, errors), await turn(c, -100000 - i, false, errors))));
  errors.count = 0;
  const ttfd: number[] = [];
  let next = 0;
  const cpu0 = cpuSeconds(serverPid);
  const started = performance.now();
  await Promise.all(
    conns.map(async (c) => {
      for (let n = next++; n < totalTurns; n = next++) ttfd.push(await turn(c, n, n % 5 === 0, errors));
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const cpuMsPerTurn = ((cpuSeconds(serverPid) - cpu0) * 1000) / totalTurns;
  for (const c of conns) c.ws.close();
  return { tps: totalTurns / seconds, ttfd: ttfd.filter(Number.isFinite).sort((a, b) => a - b), errors, cpuMsPerTurn };
}

async function openLevel(wsUrl: string, serverPid: number, sessions: number, rate: number, run: string, first: number) {
  const conns = await openSessions(wsUrl, sessions, run, first);
  const warm: Errors = { count: 0 };
  await Promise.all(conns.map((c, i) => turn(c, -1 - i, true, warm)));
  // In slices, so that one burst of other work on the shared machine shows in one slice's p99, not in the median of them.
  const lat: number[] = [];
  const sliceP99: number[] = [];
  const errors: Errors = { count: 0 };
  let turns = 0;
  let late = 0;
  let cpuMs = 0;
  for (let k = 0; k < SLICES; k++) {
    const r = await serverOpenLoop(conns, serverPid, rate, OPEN_LOOP_SECONDS / SLICES, k * 100_000);
    lat.push(...r.lat);
    sliceP99.push(pct(r.lat, 99));
    turns += r.turns;
    late += r.late;
    cpuMs += r.cpuMsPerTurn * r.turns;
    errors.count += r.errors.count;
    errors.sample ??= r.errors.sample;
  }
  for (const c of conns) c.ws.close();
  sliceP99.sort((a, b) => a - b);
  return { lat: lat.sort((a, b) => a - b), sliceP99: sliceP99[Math.floor(SLICES / 2)]!, turns, late, cpuMsPerTurn: cpuMs / turns, errors };
}

async function adapterLevel(fake: FakeLlm, concurrency: number, total: number) {
  const model = createOpenAIChatModel({ baseURL: fake.url, apiKey: "bench", model: "bench-main" });
  const ttft: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let n = next++; n < total; n = next++) {
        const t0 = performance.now();
        let first = NaN;
        for await (const d of model.stream({ messages: [{ role: "user", content: `What is a binary search tree? (${n})` }] }, new AbortController().signal)) {
          if (Number.isNaN(first) && d) first = performance.now() - t0;
        }
        ttft.push(first);
      }
    }),
  );
  return { tps: total / ((performance.now() - started) / 1000), ttft: ttft.sort((a, b) => a - b) };
}

export default async function run(): Promise<BenchResult> {
  const fake = await startFakeLlm({ models: ["bench-main", "bench-fast"], recordLimit: 100 });
  fake.setDefault("bench-main", behave.reply(ANSWER, { chunks: CHUNKS }));
  fake.setDefault("bench-fast", behave.reply("Binary Search Trees"));
  const dataDir = await mkdtemp(join(tmpdir(), "tutor-bench-"));
  const server = await startBenchServer(fake, dataDir);
  const pid = server.pid;
  const rows: (string | number)[][] = [];
  const notes: string[] = [];
  try {
    const wsUrl = server.wsUrl;
    const run = Date.now().toString(36);
    // Warm the server's JIT and caches once, unmeasured, so the first level is not the cold one.
    await serverLevel(wsUrl, pid, 50, 1500, `${run}_warm`, 0);
    for (const { sessions, turns, rate } of LEVELS) {
      const base = await adapterLevel(fake, sessions, turns);
      const srv = await serverLevel(wsUrl, pid, sessions, turns, `${run}_${sessions}`, 1000 + sessions);
      const b50 = pct(base.ttft, 50);
      rows.push(
        [`${sessions} sessions`, "bare adapter → fake LLM (baseline)", turns, base.tps.toFixed(0), ms(b50), ms(pct(base.ttft, 99)), "—", "—", "—", "—", 0],
        [
          `${sessions} sessions`,
          "WebSocket → our server → fake LLM",
          turns,
          srv.tps.toFixed(0),
          ms(pct(srv.ttfd, 50)),
          ms(pct(srv.ttfd, 99)),
          ms(pct(srv.ttfd, 50) - b50),
          ms(pct(srv.ttfd, 99) - b50),
          "—",
          srv.cpuMsPerTurn.toFixed(2),
          srv.errors.count,
        ],
      );
      if (srv.errors.sample) notes.push(`error sample at ${sessions} sessions: ${srv.errors.sample}`);

      // The same sessions at a steady offered rate below capacity.
      const baseOpen = await adapterOpenLoop(fake, sessions, rate, OPEN_LOOP_SECONDS);
      const open = await openLevel(wsUrl, pid, sessions, rate, `${run}_o${sessions}`, 2000 + sessions);
      const ob50 = pct(baseOpen.lat, 50);
      rows.push(
        [`${sessions} sessions at ${rate} turns/s`, "bare adapter → fake LLM (baseline)", baseOpen.turns, "—", ms(ob50), ms(pct(baseOpen.lat, 99)), "—", "—", "—", "—", 0],
        [
          `${sessions} sessions at ${rate} turns/s`,
          "WebSocket → our server → fake LLM",
          open.turns,
          "—",
          ms(pct(open.lat, 50)),
          ms(pct(open.lat, 99)),
          ms(pct(open.lat, 50) - ob50),
          ms(pct(open.lat, 99) - ob50),
          ms(open.sliceP99 - ob50),
          open.cpuMsPerTurn.toFixed(2),
          open.errors.count,
        ],
      );
      if (sessions === 200 && rate === 200) {
        const p99 = pct(open.lat, 99) - ob50;
        notes.push(`Target (issue 7): server overhead p99 ≤ 15 ms at 200 sessions, 200 turns/s, with the limits in place: ${p99 <= 15 ? "met" : "not met"} (${ms(p99)} ms).`);
      }
      if (open.late) notes.push(`${open.late} of ${open.turns} open-loop turns at ${sessions} sessions started late (previous turn still running).`);
    }
  } finally {
    await server.stop();
    await fake.close();
    await rm(dataDir, { recursive: true, force: true });
  }
  return {
    title: "Text turns over the WebSocket (fake LLM answering instantly, SQLite persistence)",
    columns: ["load", "path", "turns", "turns/s", "first delta p50 ms", "first delta p99 ms", "server overhead p50 ms", "server overhead p99 ms", `overhead p99, median of ${SLICES} slices ms`, "server CPU ms/turn", "errors"],
    rows,
    notes: [
      "A 1,500-turn warm-up runs first and is not counted. Each turn: store the question, topic guard (tier 1), stream a 60-word answer in 20 chunks with web_tts sentences, store the answer, send conversation_updated (the summary); a fresh conversation every 5th turn.",
      "Rows without a rate are closed loop: every session asks again as soon as its answer is stored, so the server is saturated and latency there is mostly waiting in line (sessions ÷ turns/s); they measure throughput.",
      `Rows "at N turns/s" are open loop: the same sessions ask at a fixed offered rate for ${OPEN_LOOP_SECONDS} s (each session once per sessions/N s, phases spread), so latency is the server's own work, not a queue of its own making. They run as ${SLICES} slices of ${OPEN_LOOP_SECONDS / SLICES} s; "median of slices" is the median of the slices' own p99s, which one burst of other work on the shared machine cannot decide alone.`,
      "Server overhead = time from sending text_input to the first ai_response_delta, minus the baseline's median time to first token for the same fake LLM at the same load (the LLM's own time to first token as a client sees it).",
      "Server: the production bundle in its own process (LOG_LEVEL=info, logs read by this process and dropped), the limits at their defaults (never reached here); the sessions sign in through a trusted proxy (TRUST_PROXY), each from its own address; this process runs the fake LLM and the clients, on the same 2 cores. Server CPU ms/turn (user + system, from /proc) is the figure least disturbed by that sharing: 1000 / it is the turns/s one core could serve.",
      `Load average when the run ended: ${loadavg().map((l) => l.toFixed(1)).join(", ")}.`,
      ...notes,
    ],
  };
}
