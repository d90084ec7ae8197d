// Turns per second of two app server instances against one, on the same
// machine and the same PostgreSQL. The machine has 2 cores, shared with the
// fake LLM, the clients and PostgreSQL, so this is no scaling test: what it
// shows is what being several instances costs — every turn's events cross
// the PostgreSQL hub to the student's other tab on the other instance — as
// server CPU per turn. Same students, same answers, same run.
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { behave, startFakeLlm, startPostgres, type ServerProcess } from "@tutor/testkit";
import type { BenchResult } from "../../../scripts/bench-types.js";
import { ANSWER, CHUNKS, PASSWORD, auth, connect, cpuSeconds, ms, pct, startBenchServer, turn, type Conn, type Errors } from "./ws-load.js";

/** Students asking at once (closed loop: each asks again as soon as its answer is stored). */
const STUDENTS = 100;
const WARM_TURNS = 5;
const TURNS = 2000;

interface Student {
  token: string;
  address: number;
}

/** One student's asking tab on `asks`, and a second, listening tab on `listens` (the same instance, or the other). */
async function tabs(students: Student[], asks: (i: number) => ServerProcess, listens: (i: number) => ServerProcess) {
  const out: { asker: Conn; listener: Conn; updates: number }[] = [];
  for (let i = 0; i < students.length; i += 20) {
    out.push(
      ...(await Promise.all(
        students.slice(i, i + 20).map(async (s, k) => {
          const [asker, listener] = await Promise.all([connect(asks(i + k).wsUrl, s.address), connect(listens(i + k).wsUrl, s.address)]);
          for (const c of [asker, listener]) {
            const r = await auth(c, { type: "verify", token: s.token });
            if (!r.success) throw new Error(`verify failed: ${JSON.stringify(r)}`);
          }
          const pair = { asker, listener, updates: 0 };
          listener.onMessage = (m) => {
            if (m.type === "conversation_updated") pair.updates++;
          };
          return pair;
        }),
      )),
    );
  }
  return out;
}

async function level(servers: ServerProcess[], students: Student[], first: number) {
  const n = servers.length;
  const pairs = await tabs(
    students,
    (i) => servers[i % n]!,
    (i) => servers[(i + 1) % n]!,
  );
  const errors: Errors = { count: 0 };
  // Warm-up, not measured: JIT, statement caches, pool connections of every instance.
  await Promise.all(pairs.map(async (p, i) => {
    for (let w = 0; w < WARM_TURNS; w++) await turn(p.asker, first - 1 - i * WARM_TURNS - w, w === 0, errors);
  }));
  errors.count = 0;
  delete errors.sample;
  const updatesBefore = pairs.reduce((s, p) => s + p.updates, 0);
  const ttfd: number[] = [];
  let next = 0;
  const cpu0 = servers.reduce((s, srv) => s + cpuSeconds(srv.pid), 0);
  const started = performance.now();
  await Promise.all(
    pairs.map(async (p) => {
      for (let k = next++; k < TURNS; k = next++) ttfd.push(await turn(p.asker, first + k, k % 5 === 0, errors));
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const cpuMsPerTurn = ((servers.reduce((s, srv) => s + cpuSeconds(srv.pid), 0) - cpu0) * 1000) / TURNS;
  // Each turn's stored answer reaches the student's other tab (conversation_updated); let the last ones land.
  await new Promise((r) => setTimeout(r, 500));
  const seen = pairs.reduce((s, p) => s + p.updates, 0) - updatesBefore;
  for (const p of pairs) {
    p.asker.ws.close();
    p.listener.ws.close();
  }
  return { tps: TURNS / seconds, ttfd: ttfd.filter(Number.isFinite).sort((a, b) => a - b), errors, cpuMsPerTurn, seen };
}

export default async function run(): Promise<BenchResult> {
  const [db, fake, dataDir] = await Promise.all([
    startPostgres(),
    startFakeLlm({ models: ["bench-main", "bench-fast"], recordLimit: 100 }),
    mkdtemp(join(tmpdir(), "tutor-instances-bench-")),
  ]);
  fake.setDefault("bench-main", behave.reply(ANSWER, { chunks: CHUNKS }));
  fake.setDefault("bench-fast", behave.reply("Binary Search Trees"));
  const env = { DATABASE_URL: db.url, JWT_SECRET: randomBytes(32).toString("hex"), LOG_LEVEL: "warn" };
  const rows: (string | number)[][] = [];
  const notes: string[] = [];
  const servers: ServerProcess[] = [];
  try {
    servers.push(await startBenchServer(fake, dataDir, env));
    // The students register once (argon2 is not what is measured), each from an address of its own.
    const runId = Date.now().toString(36);
    const students: Student[] = [];
    for (let i = 0; i < STUDENTS; i += 20) {
      students.push(
        ...(await Promise.all(
          Array.from({ length: Math.min(20, STUDENTS - i) }, async (_, k) => {
            const c = await connect(servers[0]!.wsUrl, i + k);
            const r = (await auth(c, { type: "register", username: `inst_${runId}_${i + k}`, password: PASSWORD })) as { success?: boolean; token?: string };
            c.ws.close();
            if (!r.success || !r.token) throw new Error(`registration failed: ${JSON.stringify(r)}`);
            return { token: r.token, address: i + k };
          }),
        )),
      );
    }
    const one = await level(servers, students, 0);
    servers.push(await startBenchServer(fake, dataDir, env));
    const two = await level(servers, students, 1_000_000);
    for (const [name, r] of [
      ["1 instance (both tabs of each student on it)", one],
      ["2 instances (asking tab on one, listening tab on the other)", two],
    ] as const) {
      rows.push([name, TURNS, r.tps.toFixed(0), ms(pct(r.ttfd, 50)), ms(pct(r.ttfd, 99)), r.cpuMsPerTurn.toFixed(2), r.seen, r.errors.count]);
      if (r.errors.sample) notes.push(`error sample (${name}): ${r.errors.sample}`);
    }
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    await fake.close();
    await db.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
  return {
    title: "Turns per second: 2 app server instances vs 1 (one PostgreSQL, same machine)",
    columns: ["setup", "turns", "turns/s", "first delta p50 ms", "first delta p99 ms", "server CPU ms/turn (all instances)", "conversation_updated at the other tab", "errors"],
    rows,
    notes: [
      `${STUDENTS} students asking at once, closed loop (each asks again once its answer is stored), ${TURNS} turns after ${WARM_TURNS} unmeasured warm-up turns per student; each student also has a listening tab, which every stored answer reaches as conversation_updated (through the PostgreSQL hub when it is on the other instance).`,
      "Each turn: store the question, topic guard (tier 1), a 60-word answer in 20 chunks from the fake LLM answering instantly, store the answer; a fresh conversation every 5th turn. Servers: the production bundle, LOG_LEVEL=warn; PostgreSQL 15 throwaway cluster (fsync off); the fake LLM and the clients run in this process, all on the same 2 cores.",
      "Reading it: one Node process runs its JavaScript on one core, so a second instance can use CPU the first leaves idle (and on a machine busy with other work, two processes get a larger share of it): turns/s of 2 instances may come out above 1 without that being a gain a school would see on a dedicated machine. The hub's cost is the server CPU per turn (summed over the instances): 2 instances do the same turns plus one NOTIFY received, parsed and turned into conversation_updated per event on the other instance.",
      `Load average when the run ended: ${loadavg().map((l) => l.toFixed(1)).join(", ")}.`,
    ],
  };
}
