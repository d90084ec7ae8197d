// Real app server processes for tests of several instances: each its own
// Node process (as deployed), on a free loopback port, with the environment
// the test gives (one DATABASE_URL and one JWT_SECRET for all of them).
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { freePort } from "./net.js";

export interface ServerProcessOptions {
  /** The server's entry: a `.ts` file runs under tsx (`node --import tsx`), a `.js` bundle runs as is. */
  entry: string;
  /** Added to this process's environment (PORT and HOST are set here). */
  env: Record<string, string>;
  /** Working directory (tsx must resolve from it): default the current one. */
  cwd?: string | undefined;
  /** A label for failure messages. */
  name?: string | undefined;
  readyTimeoutMs?: number | undefined;
}

export interface ServerProcess {
  name: string;
  pid: number;
  url: string;
  wsUrl: string;
  /** What the process printed (last 200 kB), for failure messages. */
  output(): string;
  /** Resolves when the process has exited, however. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Sends a signal (SIGKILL: the instance dies mid-whatever, as in a crash). */
  kill(signal?: NodeJS.Signals): void;
  /** SIGTERM (graceful: the server drains), SIGKILL after `graceMs`; resolves with how it exited. */
  stop(graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export async function startServerProcess(opts: ServerProcessOptions): Promise<ServerProcess> {
  if (!existsSync(opts.entry)) throw new Error(`server entry not found: ${opts.entry}`);
  const name = opts.name ?? "server";
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const args = opts.entry.endsWith(".ts") ? ["--import", "tsx", opts.entry] : ["--enable-source-maps", opts.entry];
    const child = spawn(process.execPath, args, {
      cwd: opts.cwd,
      env: { ...process.env, ...opts.env, HOST: "127.0.0.1", PORT: String(port) },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const proc = wrap(child, name, port);
    const ready = await waitReady(proc.url, child, opts.readyTimeoutMs ?? 60_000);
    if (ready === "ready") return proc;
    await proc.stop(1_000);
    // Another process may have taken the port between our probe and the bind.
    const portTaken = /EADDRINUSE/.test(proc.output());
    if (!portTaken || attempt >= 3) throw new Error(`${name} did not start (${ready}):\n${proc.output().slice(-4_000)}`);
  }
}

/** `n` processes of one server side by side (started in parallel). */
export function startServerProcesses(n: number, opts: ServerProcessOptions): Promise<ServerProcess[]> {
  return Promise.all(Array.from({ length: n }, (_, i) => startServerProcess({ ...opts, name: `${opts.name ?? "server"}-${String.fromCharCode(97 + i)}` })));
}

function wrap(child: ChildProcess, name: string, port: number): ServerProcess {
  let log = "";
  const keep = (d: Buffer) => (log = (log + d.toString()).slice(-200_000));
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve({ code: child.exitCode, signal: child.signalCode });
    else child.once("exit", (code, signal) => resolve({ code, signal }));
  });
  const url = `http://127.0.0.1:${port}`;
  return {
    name,
    pid: child.pid!,
    url,
    wsUrl: `ws://127.0.0.1:${port}/ws`,
    output: () => log,
    exited,
    kill: (signal = "SIGKILL") => void child.kill(signal),
    async stop(graceMs = 15_000) {
      if (child.exitCode === null && child.signalCode === null) {
        const force = setTimeout(() => child.kill("SIGKILL"), graceMs);
        child.kill("SIGTERM");
        await exited;
        clearTimeout(force);
      }
      return exited;
    },
  };
}

async function waitReady(url: string, child: ChildProcess, timeoutMs: number): Promise<"ready" | "exited" | "timeout"> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (child.exitCode !== null || child.signalCode !== null) return "exited";
    const r = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2_000) }).catch(() => undefined);
    if (r?.ok) return "ready";
    await new Promise((r) => setTimeout(r, 100));
  }
  return "timeout";
}
