// Test plumbing for the LiveKit suite: a real LiveKit server in dev mode on
// free loopback ports, our agent worker as its own process (as deployed), and
// a student participant built on @livekit/rtc-node that records every
// protocol message it receives on the `tutor` topic.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { delimiter, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { AudioFrame, AudioSource, LocalAudioTrack, ParticipantKind, Room, RoomEvent, TrackPublishOptions, TrackSource, type RemoteParticipant } from "@livekit/rtc-node";
import { LIVEKIT_TOPIC, type ServerMessage } from "@tutor/protocol";
import { freePort, freeUdpPort, MessageLog } from "@tutor/testkit";

const AGENT_MAIN = resolve(import.meta.dirname, "main.ts");
const AGENT_BUNDLE = resolve(import.meta.dirname, "../dist/main.js");
const BUILD_SCRIPT = pathToFileURL(resolve(import.meta.dirname, "../../../scripts/build.mjs")).href;
export const DEV_KEY = "devkey";
export const DEV_SECRET = "secret";

/** Is this binary the LiveKit server (a bare `server` on PATH could be anything)? */
function isLiveKit(bin: string): boolean {
  if (!existsSync(bin)) return false;
  const r = spawnSync(bin, ["--version"], { encoding: "utf8", timeout: 10_000 });
  return r.status === 0 && /livekit-server/.test(r.stdout);
}

/** LIVEKIT_SERVER_BIN, `livekit-server`/`server` on PATH, then Go's bin directories. */
export function findLiveKitServer(): string | undefined {
  const candidates: string[] = [];
  if (process.env.LIVEKIT_SERVER_BIN) candidates.push(process.env.LIVEKIT_SERVER_BIN);
  for (const dir of (process.env.PATH ?? "").split(delimiter).filter(Boolean)) {
    candidates.push(join(dir, "livekit-server"), join(dir, "server"));
  }
  const gopath = spawnSync("go", ["env", "GOPATH"], { encoding: "utf8" });
  if (gopath.status === 0 && gopath.stdout.trim()) candidates.push(join(gopath.stdout.trim().split(delimiter)[0]!, "bin", "server"));
  candidates.push(join(homedir(), "go", "bin", "server"));
  return candidates.find(isLiveKit);
}

/** Command lines of a process's children. */
export function childCommands(pid: number): string[] {
  const r = spawnSync("ps", ["-o", "args=", "--ppid", String(pid)], { encoding: "utf8" });
  return r.stdout.split("\n").filter(Boolean);
}

/** The binary, or undefined to skip; under REQUIRE_SERVICES=1 a missing server is an error. */
export function liveKitServerOrSkip(): string | undefined {
  const bin = findLiveKitServer();
  if (!bin && process.env.REQUIRE_SERVICES === "1") {
    throw new Error(
      "REQUIRE_SERVICES=1 but the LiveKit server was not found (LIVEKIT_SERVER_BIN, PATH, $(go env GOPATH)/bin/server): " +
        "go install github.com/livekit/livekit-server/cmd/server@v1.13.5",
    );
  }
  return bin;
}

export interface LiveKitServer {
  url: string;
  /** What the server printed, for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill("SIGKILL"), graceMs);
    child.once("exit", () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill("SIGTERM");
  });
}

export async function startLiveKit(bin: string): Promise<LiveKitServer> {
  for (let attempt = 1; ; attempt++) {
    const [port, tcp, udp] = [await freePort(), await freePort(), await freeUdpPort()];
    const config = [`port: ${port}`, "rtc:", `  tcp_port: ${tcp}`, `  udp_port: ${udp}`, "  use_external_ip: false"].join("\n");
    const child = spawn(bin, ["--dev", "--bind", "127.0.0.1", "--node-ip", "127.0.0.1", "--config-body", config], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let log = "";
    // Dev mode logs every signal ping at debug level; keep the rest.
    const keep = (d: Buffer) => {
      const lines = d.toString().split("\n").filter((l) => l && !/\tDEBUG\t/.test(l));
      if (lines.length) log = (log + lines.join("\n") + "\n").slice(-200_000);
    };
    child.stdout!.on("data", keep);
    child.stderr!.on("data", keep);
    const url = `ws://127.0.0.1:${port}`;
    const ready = await waitUntil(async () => {
      if (child.exitCode !== null) return "exited";
      const r = await fetch(`http://127.0.0.1:${port}/`).catch(() => undefined);
      return r?.ok ? "ready" : undefined;
    }, 30_000);
    if (ready === "ready") return { url, output: () => log, stop: () => stopChild(child, 5_000) };
    await stopChild(child, 1_000);
    // Another process may have taken a port between our probe and the bind.
    if (attempt >= 3) throw new Error(`the LiveKit server did not start:\n${log}`);
  }
}

async function waitUntil<T>(probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T | undefined> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const v = await probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  return undefined;
}

export interface AgentProcess {
  pid: number;
  /** The worker's Prometheus endpoint (on a free port unless AGENT_METRICS_PORT was given). */
  metricsUrl: string | undefined;
  output(): string;
  stop(): Promise<void>;
}

/**
 * Our worker, registered once this resolves: from the sources under tsx
 * (tests), or as `npm run agent` runs it, from the esbuild bundle (`bundle`,
 * built first; benchmarks, since tsx makes every job process slower to start).
 */
export async function startAgent(env: Record<string, string>, args: string[] = [], opts: { bundle?: boolean } = {}): Promise<AgentProcess> {
  let command = ["--import", "tsx", AGENT_MAIN];
  if (opts.bundle) {
    const build = spawnSync(process.execPath, ["--input-type=module", "-e", `await (await import(${JSON.stringify(BUILD_SCRIPT)})).buildAgent()`], {
      encoding: "utf8",
    });
    if (build.status !== 0) throw new Error(`building the agent failed:\n${build.stderr}`);
    command = ["--enable-source-maps", AGENT_BUNDLE];
  }
  const child = spawn(process.execPath, [...command, ...args], {
    env: { ...process.env, AGENT_METRICS_PORT: "0", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  let metricsUrl: string | undefined;
  let registered!: () => void;
  const isRegistered = new Promise<void>((r) => (registered = r));
  const onData = (d: Buffer) => {
    log = (log + d.toString()).slice(-50_000);
    metricsUrl ??= /"event":"agent_metrics","url":"([^"]+)"/.exec(log)?.[1];
    if (log.includes('"event":"agent_registered"')) registered();
  };
  child.stdout!.on("data", onData);
  child.stderr!.on("data", onData);
  const exited = new Promise<void>((_, reject) => child.once("exit", (code) => reject(new Error(`the agent exited (${code}):\n${log}`))));
  const timeout = new Promise<void>((_, reject) => setTimeout(() => reject(new Error(`the agent did not register in time:\n${log}`)), 90_000).unref());
  try {
    await Promise.race([isRegistered, exited, timeout]);
  } catch (err) {
    await stopChild(child, 2_000);
    throw err;
  }
  exited.catch(() => undefined);
  return { pid: child.pid!, metricsUrl, output: () => log, stop: () => stopChild(child, 15_000) };
}

/** Every student leaves its room (ending the room's job, so the worker's capacity is not used up by finished tests). */
export async function leaveAll(students: Student[]): Promise<void> {
  for (const s of students.splice(0)) await s.leave().catch(() => undefined);
}

/** LIVEKIT_TEST_LOG=file keeps what the agent and the LiveKit server said, for a failing run. */
export function keepLiveKitLog(agent: AgentProcess | undefined, lk: LiveKitServer | undefined): void {
  if (process.env.LIVEKIT_TEST_LOG) writeFileSync(process.env.LIVEKIT_TEST_LOG, `${agent?.output() ?? ""}\n===== LiveKit server\n${lk?.output() ?? ""}`);
}

/** A new student registered over REST on the app server at `baseUrl`. */
export async function registerStudent(baseUrl: string, username: string): Promise<{ bearer: string; userId: string; username: string }> {
  const r = await fetch(`${baseUrl}/api/auth/register`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username, password: "correct horse battery" }),
  });
  if (r.status !== 201) throw new Error(`registering ${username}: ${r.status} ${await r.text()}`);
  const body = (await r.json()) as { token: string; user: { id: string } };
  return { bearer: body.token, userId: body.user.id, username };
}

export interface RoomGrant {
  url: string;
  token: string;
  room: string;
  expires_at: string;
  error?: { code: string };
}

/** `POST /api/livekit/token` as the student: the status and the grant (or error) it answered. */
export async function requestRoom(baseUrl: string, bearer: string): Promise<{ status: number; body: RoomGrant }> {
  const r = await fetch(`${baseUrl}/api/livekit/token`, { method: "POST", headers: { authorization: `Bearer ${bearer}` } });
  return { status: r.status, body: (await r.json()) as RoomGrant };
}

/** The three variables that point an app server (and the worker) at this LiveKit server. */
export function liveKitEnv(lk: LiveKitServer): Record<string, string> {
  return { LIVEKIT_URL: lk.url, LIVEKIT_API_KEY: DEV_KEY, LIVEKIT_API_SECRET: DEV_SECRET };
}

/**
 * Our worker beside an app server: it reads the same configuration (the
 * server's `env`, its DATA_DIR, the same model server), health on a free port.
 */
export function startAgentBeside(opts: { env: Record<string, string>; dataDir: string; llmUrl: string; models: readonly [main: string, fast: string] }): Promise<AgentProcess> {
  const [main, fast] = opts.models;
  return startAgent(
    {
      ...opts.env,
      DATA_DIR: opts.dataDir,
      LLM_BASE_URL: opts.llmUrl,
      LLM_API_KEY: "test-key",
      LLM_MODELS: `${main},${fast}`,
      LLM_FAST_MODEL: fast,
      LOCAL_MODEL: "off",
      LOG_LEVEL: "info",
    },
    ["--health-port", "0"],
  );
}

type Msg = ServerMessage & Record<string, unknown>;

/** A student in a LiveKit room: sends protocol messages on the data channel, records what comes back. */
export class Student {
  readonly room = new Room();
  readonly #log = new MessageLog<Msg>();
  readonly messages: Msg[] = this.#log.messages;
  #seq = 0;
  #mic: { source: AudioSource; track: LocalAudioTrack } | undefined;

  /** How each message arrived: a data packet or a text stream (large ones). */
  readonly carriers: ("packet" | "stream")[] = [];

  constructor() {
    this.room.on(RoomEvent.DataReceived, (payload: Uint8Array, _p?: RemoteParticipant, _k?: unknown, topic?: string) => {
      if (topic === LIVEKIT_TOPIC) this.#record(new TextDecoder().decode(payload), "packet");
    });
    this.room.registerTextStreamHandler(LIVEKIT_TOPIC, (reader) => {
      void reader.readAll().then((text) => this.#record(text, "stream"));
    });
  }

  #record(text: string, carrier: "packet" | "stream"): void {
    // The carrier first: a waiter woken by the message may look at it.
    this.carriers.push(carrier);
    this.#log.push(JSON.parse(text) as Msg);
  }

  /** Joins the room. */
  async connect(url: string, token: string): Promise<void> {
    await this.room.connect(url, token, { autoSubscribe: true, dynacast: false });
  }

  /** Joins and waits until the tutor is ready: its `auth_response` (clients send once it came). */
  async join(url: string, token: string, timeoutMs = 60_000): Promise<Msg> {
    await this.connect(url, token);
    return this.waitFor((m) => m.type === "auth_response", timeoutMs);
  }

  /** The tutor agent's participant, once LiveKit has announced it. */
  agent(): RemoteParticipant | undefined {
    return [...this.room.remoteParticipants.values()].find((p) => p.kind === ParticipantKind.AGENT);
  }

  async sendRaw(data: string | Uint8Array): Promise<void> {
    const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
    await this.room.localParticipant!.publishData(bytes, { reliable: true, topic: LIVEKIT_TOPIC });
  }

  async send(obj: Record<string, unknown>): Promise<void> {
    await this.sendRaw(JSON.stringify(obj));
  }

  /** Sends as a LiveKit text stream, as a client does for a message too big for one packet. */
  async sendStream(text: string): Promise<void> {
    await this.room.localParticipant!.sendText(text, { topic: LIVEKIT_TOPIC });
  }

  waitFor(pred: (m: Msg) => boolean, timeoutMs = 30_000, from = 0): Promise<Msg> {
    return this.#log.waitFor(pred, timeoutMs, from);
  }

  /** Sends with a fresh request_id; resolves with the reply of `type` carrying it. */
  async request(obj: Record<string, unknown>, type: string, timeoutMs?: number): Promise<Msg> {
    const request_id = `lk${++this.#seq}`;
    const from = this.messages.length;
    await this.send({ ...obj, request_id });
    return this.waitFor((m) => m.request_id === request_id && m.type === type, timeoutMs, from);
  }

  replies(requestId: string): Msg[] {
    return this.#log.replies(requestId);
  }

  /** Publishes a microphone track fed from 16 kHz mono PCM. */
  async openMic(sampleRate = 16_000): Promise<void> {
    const source = new AudioSource(sampleRate, 1);
    const track = LocalAudioTrack.createAudioTrack("microphone", source);
    const options = new TrackPublishOptions({ source: TrackSource.SOURCE_MICROPHONE });
    await this.room.localParticipant!.publishTrack(track, options);
    this.#mic = { source, track };
  }

  /** Plays PCM into the microphone in real time (10 ms frames). */
  async speak(pcm: Int16Array, sampleRate = 16_000): Promise<void> {
    if (!this.#mic) throw new Error("openMic first");
    const step = sampleRate / 100;
    for (let i = 0; i < pcm.length; i += step) {
      const chunk = new Int16Array(step);
      chunk.set(pcm.subarray(i, Math.min(i + step, pcm.length)));
      await this.#mic.source.captureFrame(new AudioFrame(chunk, sampleRate, 1, step));
    }
  }

  /** Silence into the microphone for `ms`. */
  async silence(ms: number, sampleRate = 16_000): Promise<void> {
    await this.speak(new Int16Array((sampleRate * ms) / 1000), sampleRate);
  }

  async leave(): Promise<void> {
    await this.#mic?.source.close().catch(() => undefined);
    await this.room.disconnect();
  }
}
