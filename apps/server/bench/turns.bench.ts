// Text turns over the WebSocket against the fake LLM answering instantly:
// turns per second and server overhead (time to first ai_response_delta minus
// the LLM's own time to first token), at 50 and 200 concurrent sessions,
// persistence included. The server runs as its own process (the production
// bundle); this process is the load: fake LLM + WebSocket clients.
// Baseline in the same run: the bare OpenAI-compatible adapter streaming the
// same answers from the same fake server, without our server in between.
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import WebSocket from "ws";
import { createOpenAIChatModel } from "@tutor/llm";
import { behave, freePort, startFakeLlm, type FakeLlm } from "@tutor/testkit";
import type { BenchResult } from "../../../scripts/bench-types.js";

const root = resolve(import.meta.dirname, "../../..");
const ANSWER =
  "A binary search tree keeps every key in the left subtree smaller than the node and every key in the right subtree larger. " +
  "That ordering lets a lookup discard half of the remaining tree at each step. " +
  "On a balanced tree, search, insert and delete take O(log n) time. " +
  "If keys arrive in sorted order the tree degenerates into a list, which is why balanced variants exist.";
const CHUNKS = ANSWER.match(/\S+\s*/g)!.reduce<string[]>((acc, w, i) => (i % 3 ? (acc[acc.length - 1] += w) : acc.push(w), acc), []);
// `rate`: the open-loop level's offered turns/s (about half of what one busy
// run of this machine serves), where latency is the server's, not queueing.
const LEVELS = [
  { sessions: 50, turns: 1500, rate: 100 },
  { sessions: 200, turns: 3000, rate: 200 },
];
const OPEN_LOOP_SECONDS = 8;

function pct(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
const ms = (v: number) => v.toFixed(2);

async function startServerProcess(fake: FakeLlm, dataDir: string): Promise<{ child: ChildProcess; url: string }> {
  const { buildAll } = (await import(join(root, "scripts/build.mjs"))) as { buildAll: (o: { quiet: boolean }) => Promise<void> };
  await buildAll({ quiet: true });
  const port = await freePort();
  const child = spawn(process.execPath, [join(root, "apps/server/dist/main.js")], {
    env: {
      ...process.env,
      HOST: "127.0.0.1",
      PORT: String(port),
      DATA_DIR: dataDir,
      LLM_BASE_URL: fake.url,
      LLM_API_KEY: "bench",
      LLM_MODELS: "bench-main,bench-fast",
      LLM_FAST_MODEL: "bench-fast",
      LOG_LEVEL: "info",
    },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    try {
      if ((await fetch(`${url}/healthz`)).ok) return { child, url };
    } catch {
      /* starting */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill();
  throw new Error("server did not start");
}

interface Conn {
  ws: WebSocket;
  onMessage: ((m: { type: string; request_id?: string }) => void) | undefined;
}

async function openSession(wsUrl: string, i: number, run: string): Promise<Conn> {
  const ws = new WebSocket(wsUrl);
  await new Promise<void>((res, rej) => (ws.once("open", () => res()), ws.once("error", rej)));
  const conn: Conn = { ws, onMessage: undefined };
  ws.on("message", (data) => conn.onMessage?.(JSON.parse(String(data))));
  await new Promise<void>((res, rej) => {
    conn.onMessage = (m) => {
      if (m.type !== "auth_response") return;
      if (!(m as { success?: boolean }).success) rej(new Error(JSON.stringify(m)));
      res();
    };
    ws.send(JSON.stringify({ type: "auth_request", data: { type: "register", username: `bench_${run}_${i}`, password: "benchmark password" } }));
  });
  return conn;
}

/** One turn; resolves with ms from send to the first delta, after the stored answer's conversation_updated arrived. */
function turn(conn: Conn, n: number, fresh: boolean, errors: { count: number; sample?: string }): Promise<number> {
  return new Promise((res) => {
    const rid = `t${n}`;
    const started = performance.now();
    let first = NaN;
    let answered = false;
    conn.onMessage = (m) => {
      if (m.request_id !== rid) return;
      if (m.type === "ai_response_delta" && Number.isNaN(first)) first = performance.now() - started;
      else if (m.type === "error" || (m.type === "ai_response" && (m as { error?: boolean }).error)) {
        errors.count++;
        errors.sample ??= JSON.stringify(m).slice(0, 200);
        answered = true;
      } else if (m.type === "ai_response") answered = true;
      else if (m.type === "conversation_updated" && answered) res(first);
    };
    conn.ws.send(
      JSON.stringify({ type: "text_input", request_id: rid, text: `What is a binary search tree? (${n})`, teaching_mode: "qa", new_conversation: fresh }),
    );
  });
}

/** CPU seconds (user + system) a process has used so far, from /proc. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}

async function serverLevel(wsUrl: string, serverPid: number, sessions: number, totalTurns: number, run: string) {
  const conns: Conn[] = [];
  for (let i = 0; i < sessions; i += 20) {
    conns.push(...(await Promise.all(Array.from({ length: Math.min(20, sessions - i) }, (_, k) => openSession(wsUrl, i + k, run)))));
  }
  const errors = { count: 0 } as { count: number; sample?: string };
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

/**
 * Open loop: each of `workers` asks at a fixed period (phases spread evenly),
 * so the offered rate is `rate` turns/s whatever the latency; a turn due while
 * the previous one still runs starts late and is counted. Returns the
 * latencies `one` measured.
 */
async function openLoop(workers: number, rate: number, seconds: number, one: (worker: number, n: number) => Promise<number>) {
  const period = (workers / rate) * 1000;
  const start = performance.now() + 50;
  const lat: number[] = [];
  let late = 0;
  let n = 0;
  await Promise.all(
    Array.from({ length: workers }, async (_, w) => {
      for (let due = start + (w * period) / workers; due < start + seconds * 1000; due += period) {
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        else if (wait < -5) late++;
        lat.push(await one(w, n++));
      }
    }),
  );
  return { lat: lat.filter(Number.isFinite).sort((a, b) => a - b), late, turns: lat.length };
}

async function serverOpenLoop(wsUrl: string, serverPid: number, sessions: number, rate: number, run: string) {
  const conns: Conn[] = [];
  for (let i = 0; i < sessions; i += 20) {
    conns.push(...(await Promise.all(Array.from({ length: Math.min(20, sessions - i) }, (_, k) => openSession(wsUrl, i + k, run)))));
  }
  const errors = { count: 0 } as { count: number; sample?: string };
  await Promise.all(conns.map((c, i) => turn(c, -1 - i, true, errors)));
  errors.count = 0;
  const cpu0 = cpuSeconds(serverPid);
  const r = await openLoop(sessions, rate, OPEN_LOOP_SECONDS, (w, n) => turn(conns[w]!, n, n % 5 === 0, errors));
  const cpuMsPerTurn = ((cpuSeconds(serverPid) - cpu0) * 1000) / r.turns;
  for (const c of conns) c.ws.close();
  return { ...r, errors, cpuMsPerTurn };
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
  const { child, url } = await startServerProcess(fake, dataDir);
  const rows: (string | number)[][] = [];
  const notes: string[] = [];
  try {
    const wsUrl = url.replace("http", "ws") + "/ws";
    // Warm the server's JIT and caches once, unmeasured, so the first level is not the cold one.
    await serverLevel(wsUrl, child.pid!, 50, 1500, `${Date.now().toString(36)}_warm`);
    for (const { sessions, turns, rate } of LEVELS) {
      const base = await adapterLevel(fake, sessions, turns);
      const srv = await serverLevel(wsUrl, child.pid!, sessions, turns, `${Date.now().toString(36)}_${sessions}`);
      const b50 = pct(base.ttft, 50);
      rows.push(
        [`${sessions} sessions`, "bare adapter → fake LLM (baseline)", turns, base.tps.toFixed(0), ms(b50), ms(pct(base.ttft, 99)), "—", "—", "—", 0],
        [
          `${sessions} sessions`,
          "WebSocket → our server → fake LLM",
          turns,
          srv.tps.toFixed(0),
          ms(pct(srv.ttfd, 50)),
          ms(pct(srv.ttfd, 99)),
          ms(pct(srv.ttfd, 50) - b50),
          ms(pct(srv.ttfd, 99) - b50),
          srv.cpuMsPerTurn.toFixed(2),
          srv.errors.count,
        ],
      );
      if (srv.errors.sample) notes.push(`error sample at ${sessions} sessions: ${srv.errors.sample}`);

      // The same sessions at a steady offered rate below capacity.
      const model = createOpenAIChatModel({ baseURL: fake.url, apiKey: "bench", model: "bench-main" });
      const baseOpen = await openLoop(sessions, rate, OPEN_LOOP_SECONDS, async (_w, n) => {
        const t0 = performance.now();
        let first = NaN;
        for await (const d of model.stream({ messages: [{ role: "user", content: `What is a binary search tree? (${n})` }] }, new AbortController().signal)) {
          if (Number.isNaN(first) && d) first = performance.now() - t0;
        }
        return first;
      });
      const open = await serverOpenLoop(wsUrl, child.pid!, sessions, rate, `${Date.now().toString(36)}_o${sessions}`);
      const ob50 = pct(baseOpen.lat, 50);
      rows.push(
        [`${sessions} sessions at ${rate} turns/s`, "bare adapter → fake LLM (baseline)", baseOpen.turns, "—", ms(ob50), ms(pct(baseOpen.lat, 99)), "—", "—", "—", 0],
        [
          `${sessions} sessions at ${rate} turns/s`,
          "WebSocket → our server → fake LLM",
          open.turns,
          "—",
          ms(pct(open.lat, 50)),
          ms(pct(open.lat, 99)),
          ms(pct(open.lat, 50) - ob50),
          ms(pct(open.lat, 99) - ob50),
          open.cpuMsPerTurn.toFixed(2),
          open.errors.count,
        ],
      );
      if (open.late) notes.push(`${open.late} of ${open.turns} open-loop turns at ${sessions} sessions started late (previous turn still running).`);
    }
  } finally {
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
    await fake.close();
    await rm(dataDir, { recursive: true, force: true });
  }
  return {
    title: "Text turns over the WebSocket (fake LLM answering instantly, SQLite persistence)",
    columns: ["load", "path", "turns", "turns/s", "first delta p50 ms", "first delta p99 ms", "server overhead p50 ms", "server overhead p99 ms", "server CPU ms/turn", "errors"],
    rows,
    notes: [
      "A 1,500-turn warm-up runs first and is not counted. Each turn: store the question, topic guard (tier 1), stream a 60-word answer in 20 chunks with web_tts sentences, store the answer, send conversation_updated (the summary); a fresh conversation every 5th turn.",
      "Rows without a rate are closed loop: every session asks again as soon as its answer is stored, so the server is saturated and latency there is mostly waiting in line (sessions ÷ turns/s); they measure throughput.",
      `Rows "at N turns/s" are open loop: the same sessions ask at a fixed offered rate for ${OPEN_LOOP_SECONDS} s (each session once per sessions/N s, phases spread), so latency is the server's own work, not a queue of its own making.`,
      "Server overhead = time from sending text_input to the first ai_response_delta, minus the baseline's median time to first token for the same fake LLM at the same load (the LLM's own time to first token as a client sees it).",
      "Server: the production bundle in its own process (LOG_LEVEL=info, logs discarded); this process runs the fake LLM and the clients, on the same 2 cores. Server CPU ms/turn (user + system, from /proc) is the figure least disturbed by that sharing: 1000 / it is the turns/s one core could serve.",
      `Load average when the run ended: ${loadavg().map((l) => l.toFixed(1)).join(", ")}.`,
      ...notes,
    ],
  };
}
