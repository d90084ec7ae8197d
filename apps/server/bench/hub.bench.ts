// Event latency across instances: 200 students, each with one tab on instance
// A and one on instance B; a rename through A, timed until B's tab shows it
// (conversation_updated). Two real server processes on one PostgreSQL
// (LISTEN/NOTIFY hub) against, in the same run, one process with both tabs
// on it (in-process hub, same PostgreSQL): the difference is the hub's cost.
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { startPostgres, startServerProcess, type ServerProcess } from "@tutor/testkit";
import type { BenchResult } from "../../../scripts/bench-types.js";
import { loadConfig } from "../src/config.js";
import { closeContext, createContext, type AppContext } from "../src/context.js";
import { createLogger } from "../src/logger.js";
import { WsClient } from "../src/test-helpers.js";

const root = resolve(import.meta.dirname, "../../..");
const STUDENTS = 200;
const RATE_PER_S = 200;
const SECONDS = 5;
const WARM_SECONDS = 2;

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** `total` renames at RATE_PER_S, open loop; the latency of each until the other tab shows it. */
async function drive(pairs: { id: string; onA: WsClient; onB: WsClient }[], total: number, tag: string): Promise<number[]> {
  const latencies: number[] = [];
  const pending: Promise<void>[] = [];
  const start = performance.now();
  for (let n = 0; n < total; n++) {
    const due = start + (n * 1000) / RATE_PER_S;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const p = pairs[n % STUDENTS]!;
    const title = `${tag}${n}`;
    const from = p.onB.messages.length;
    const t0 = performance.now();
    p.onA.send({ type: "rename_conversation", conversation_id: p.id, title });
    pending.push(
      p.onB
        .waitFor((m) => m.type === "conversation_updated" && (m.conversation as { title: string }).title === title, 10_000, from)
        .then(() => void latencies.push(performance.now() - t0)),
    );
  }
  await Promise.all(pending);
  return latencies;
}

async function measure(auth: AppContext["auth"], a: ServerProcess, b: ServerProcess): Promise<number[]> {
  const pairs: { id: string; onA: WsClient; onB: WsClient }[] = [];
  for (let i = 0; i < STUDENTS; i++) {
    const username = `bench${process.pid}_${a.name}${b.name}_${i}`;
    // Accounts made through the core, each "from" its own address: the per-address registration limit
    // would stop 400 from 127.0.0.1 (and is not what this measures).
    const reg = await auth.register({ username, password: "correct horse battery" }, `10.${a === b ? 1 : 2}.${i >> 8}.${i & 255}`);
    const [onA, onB] = await Promise.all([WsClient.connect(a.wsUrl), WsClient.connect(b.wsUrl)]);
    for (const c of [onA, onB]) {
      const r = await c.request({ type: "auth_request", data: { type: "verify", token: reg.token } }, "auth_response");
      if (!r.success) throw new Error(`verify: ${JSON.stringify(r)}`);
    }
    const created = await onA.request({ type: "new_conversation", teaching_mode: "qa" }, "conversation_data");
    pairs.push({ id: (created.conversation as { id: string }).id, onA, onB });
  }
  // Warm-up first, not measured (JIT, statement caches, pool connections): without it the first
  // setup measured (the baseline) carried the warm-up in its tail (p99 362 ms in an earlier run).
  await drive(pairs, RATE_PER_S * WARM_SECONDS, "w");
  const latencies = await drive(pairs, RATE_PER_S * SECONDS, "m");
  await Promise.all(pairs.flatMap((p) => [p.onA.close(), p.onB.close()]));
  return latencies.sort((x, y) => x - y);
}

export default async function run(): Promise<BenchResult> {
  const db = await startPostgres();
  const dataDir = await mkdtemp(join(tmpdir(), "tutor-hub-bench-"));
  const env = { DATABASE_URL: db.url, JWT_SECRET: randomBytes(32).toString("hex"), DATA_DIR: dataDir, LOG_LEVEL: "warn" };
  const launch = (name: string, extra: Record<string, string> = {}) =>
    startServerProcess({ entry: join(root, "apps/server/dist/main.js"), cwd: root, name, env: { ...env, ...extra } });
  const { buildServer } = (await import(join(root, "scripts/build.mjs"))) as { buildServer: () => Promise<void> };
  await buildServer();
  const rows: (string | number)[][] = [];
  const ctx = await createContext(loadConfig(env), createLogger("silent"));
  try {
    const a = await launch("a");
    const [b] = [await launch("b")];
    // The same run, same database: one instance with both tabs on it is the in-process baseline.
    const local = await measure(ctx.auth, a, a);
    const cross = await measure(ctx.auth, a, b);
    for (const [name, l] of [["1 instance, both tabs on it (in-process hub)", local], ["2 instances, tab on A -> tab on B (PostgreSQL LISTEN/NOTIFY)", cross]] as const) {
      rows.push([name, l.length, pct(l, 50).toFixed(2), pct(l, 99).toFixed(2), l.at(-1)!.toFixed(2)]);
    }
    await Promise.all([a.stop(), b.stop()]);
  } finally {
    await closeContext(ctx);
    await db.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
  return {
    title: "Event latency across instances (rename on A -> conversation_updated on B)",
    columns: ["setup", "events", "p50 ms", "p99 ms", "max ms"],
    rows,
    notes: [
      `${STUDENTS} students, each with a tab on A and one on B (or both on the one instance), ${RATE_PER_S} renames/s open loop for ${SECONDS} s; the time includes the rename's own store write.`,
      `Each setup first runs ${WARM_SECONDS} s of the same load unmeasured (JIT, caches, pool connections). Server processes from the production bundle; PostgreSQL 15 (throwaway cluster, fsync off) on the same machine.`,
      "The one instance of the baseline does both sides' work (the 200 renames and the 200 receiving tabs' summary reads) on one core and one pool of 10 connections, which two instances split: its tail is not a lower bound for the hub's.",
      `Load average when the run ended: ${loadavg().map((l) => l.toFixed(1)).join(", ")}.`,
    ],
  };
}
