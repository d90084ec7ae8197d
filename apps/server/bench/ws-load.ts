// What the WebSocket turn benchmarks share (not a bench file itself): the
// production bundle started as its own process, signed-in sessions, one text
// turn timed to its first delta, an open-loop driver and the CPU a process used.
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import WebSocket from "ws";
import { createOpenAIChatModel } from "@tutor/llm";
import { startServerProcess, type FakeLlm, type ServerProcess } from "@tutor/testkit";

export const root = resolve(import.meta.dirname, "../../..");

export const ANSWER =
  "A binary search tree keeps every key in the left subtree smaller than the node and every key in the right subtree larger. " +
  "That ordering lets a lookup discard half of the remaining tree at each step. " +
  "On a balanced tree, search, insert and delete take O(log n) time. " +
  "If keys arrive in sorted order the tree degenerates into a list, which is why balanced variants exist.";
export const CHUNKS = ANSWER.match(/\S+\s*/g)!.reduce<string[]>((acc, w, i) => (i % 3 ? (acc[acc.length - 1] += w) : acc.push(w), acc), []);

export function pct(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
export const ms = (v: number) => v.toFixed(2);

let built = false;
/**
 * The production bundle (built once per bench run) in its own process, on the
 * fake LLM. The bench's sessions come through a trusted proxy (TRUST_PROXY
 * 127.0.0.1 + X-Forwarded-For), each from its own address, as a class behind a
 * school's proxy would: the per-address sign-in limits are not what is measured.
 */
export async function startBenchServer(fake: FakeLlm, dataDir: string, env: Record<string, string> = {}): Promise<ServerProcess> {
  if (!built) {
    const { buildAll } = (await import(join(root, "scripts/build.mjs"))) as { buildAll: (o: { quiet: boolean }) => Promise<void> };
    await buildAll({ quiet: true });
    built = true;
  }
  return startServerProcess({
    entry: join(root, "apps/server/dist/main.js"),
    name: "bench-server",
    env: {
      DATA_DIR: dataDir,
      LLM_BASE_URL: fake.url,
      LLM_API_KEY: "bench",
      LLM_MODELS: "bench-main,bench-fast",
      LLM_FAST_MODEL: "bench-fast",
      LOCAL_MODEL: "off",
      LOG_LEVEL: "info",
      TRUST_PROXY: "127.0.0.1",
      ...env,
    },
  });
}

export interface Conn {
  ws: WebSocket;
  onMessage: ((m: { type: string; request_id?: string; success?: boolean; error_type?: string }) => void) | undefined;
}

/** A WebSocket from its own client address (10.x.y.z, through the trusted proxy). */
export async function connect(wsUrl: string, i: number): Promise<Conn> {
  const ws = new WebSocket(wsUrl, { headers: { "x-forwarded-for": `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` } });
  await new Promise<void>((res, rej) => (ws.once("open", () => res()), ws.once("error", rej)));
  const conn: Conn = { ws, onMessage: undefined };
  ws.on("message", (data) => conn.onMessage?.(JSON.parse(String(data))));
  return conn;
}

/** One auth_request; resolves with the auth_response. */
export function auth(conn: Conn, data: Record<string, unknown>): Promise<{ success?: boolean; error_type?: string }> {
  return new Promise((res) => {
    conn.onMessage = (m) => {
      if (m.type === "auth_response") res(m);
    };
    conn.ws.send(JSON.stringify({ type: "auth_request", data }));
  });
}

export const PASSWORD = "benchmark password";

export async function openSession(wsUrl: string, i: number, run: string): Promise<Conn> {
  const conn = await connect(wsUrl, i);
  const r = await auth(conn, { type: "register", username: `bench_${run}_${i}`, password: PASSWORD });
  if (!r.success) throw new Error(`registration failed: ${JSON.stringify(r)}`);
  return conn;
}

/** `n` signed-in sessions, registered 20 at a time. */
export async function openSessions(wsUrl: string, n: number, run: string, first = 0): Promise<Conn[]> {
  const conns: Conn[] = [];
  for (let i = 0; i < n; i += 20) {
    conns.push(...(await Promise.all(Array.from({ length: Math.min(20, n - i) }, (_, k) => openSession(wsUrl, first + i + k, run)))));
  }
  return conns;
}

export interface Errors {
  count: number;
  sample?: string;
}

/** One turn; resolves with ms from send to the first delta, after the stored answer's conversation_updated arrived. */
export function turn(conn: Conn, n: number, fresh: boolean, errors: Errors): Promise<number> {
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
        if (m.type === "error") res(NaN);
      } else if (m.type === "ai_response") answered = true;
      else if (m.type === "conversation_updated" && answered) res(first);
    };
    conn.ws.send(
      JSON.stringify({ type: "text_input", request_id: rid, text: `What is a binary search tree? (${n})`, teaching_mode: "qa", new_conversation: fresh }),
    );
  });
}

/** CPU seconds (user + system) a process has used so far, from /proc. */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}

/**
 * Open loop: each of `workers` asks at a fixed period (phases spread evenly),
 * so the offered rate is `rate` turns/s whatever the latency; a turn due while
 * the previous one still runs starts late and is counted. Returns the
 * latencies `one` measured.
 */
export async function openLoop(workers: number, rate: number, seconds: number, one: (worker: number, n: number) => Promise<number>) {
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

/** Open-loop turns over these sessions; n counts on from `offset` (request ids stay unique per connection). */
export async function serverOpenLoop(conns: Conn[], serverPid: number, rate: number, seconds: number, offset = 0) {
  const errors: Errors = { count: 0 };
  const cpu0 = cpuSeconds(serverPid);
  const r = await openLoop(conns.length, rate, seconds, (w, n) => turn(conns[w]!, offset + n, n % 5 === 0, errors));
  const cpuMsPerTurn = ((cpuSeconds(serverPid) - cpu0) * 1000) / r.turns;
  return { ...r, errors, cpuMsPerTurn };
}

/** The bare adapter's time to first token from the same fake LLM, at the same offered rate: the LLM's own share. */
export function adapterOpenLoop(fake: FakeLlm, workers: number, rate: number, seconds: number) {
  const model = createOpenAIChatModel({ baseURL: fake.url, apiKey: "bench", model: "bench-main" });
  return openLoop(workers, rate, seconds, async (_w, n) => {
    const t0 = performance.now();
    let first = NaN;
    for await (const d of model.stream({ messages: [{ role: "user", content: `What is a binary search tree? (${n})` }] }, new AbortController().signal)) {
      if (Number.isNaN(first) && d) first = performance.now() - t0;
    }
    return first;
  });
}

export const loadText = (l: number[]) => l.map((v) => v.toFixed(1)).join(", ");
