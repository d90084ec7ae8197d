// What the voice benchmarks share (not a bench file itself): the production
// bundle in its own process, a model server that notes when it wrote each
// chunk, a WebSocket client that timestamps every JSON and binary frame, a
// microphone that streams in real time, and where speech ends in a clip.
import { spawn, type ChildProcess } from "node:child_process";
import { createServer as createHttpServer, type Server } from "node:http";
import { cpus, loadavg } from "node:os";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import WebSocket from "ws";
import { systemClock, voiceSettings, VoiceInput, type Utterance } from "@tutor/core";
import { SileroVad } from "@tutor/voice";
import { freePort, pcmFrames } from "@tutor/testkit";

const root = resolve(import.meta.dirname, "../../..");

export const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};
export const f1 = (x: number) => x.toFixed(1);
export const f2 = (x: number) => x.toFixed(2);

/** The machine's load while a benchmark ran, for its notes. */
export function machineLoad(): string {
  const [one, five] = loadavg();
  return `load average ${one!.toFixed(2)} (1 min), ${five!.toFixed(2)} (5 min) on ${cpus().length} cores`;
}

/** One streamed answer: when the request arrived and when each chunk was written (performance.now). */
export interface ModelStream {
  arrivedAt: number;
  writes: number[];
}

export interface ModelPlan {
  chunks: string[];
  chunkMs?: number;
  firstDelayMs?: number;
}

/**
 * An OpenAI-compatible chat server that streams `plan.chunks` (`firstDelayMs`
 * before the first, `chunkMs` between the others) and records each stream; the
 * topic check and titles get a short answer at once (their arrival times in
 * `completions`). The plan is read per request: a benchmark may change it between turns.
 */
export async function startTimedModel(plan: ModelPlan): Promise<{ url: string; streams: ModelStream[]; completions: number[]; server: Server }> {
  const streams: ModelStream[] = [];
  const completions: number[] = [];
  const server = createHttpServer((req, res) => {
    const arrivedAt = performance.now();
    const parts: Buffer[] = [];
    req.on("data", (c: Buffer) => parts.push(c));
    req.on("end", () => {
      const body = JSON.parse(Buffer.concat(parts).toString()) as { model: string; stream?: boolean };
      if (!body.stream) {
        completions.push(arrivedAt);
        const text = body.model === "bench-fast" ? "YES" : "ok";
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ id: "x", object: "chat.completion", created: 0, model: body.model, choices: [{ index: 0, message: { role: "assistant", content: text }, finish_reason: "stop" }] }));
        return;
      }
      const stream: ModelStream = { arrivedAt, writes: [] };
      streams.push(stream);
      res.writeHead(200, { "content-type": "text/event-stream" });
      const event = (delta: object, finish: string | null) =>
        `data: ${JSON.stringify({ id: "x", object: "chat.completion.chunk", created: 0, model: body.model, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
      const { chunks, chunkMs = 15, firstDelayMs = 0 } = plan;
      let i = 0;
      const next = () => {
        if (res.destroyed) return;
        if (i === chunks.length) {
          res.end(event({}, "stop") + "data: [DONE]\n\n");
          return;
        }
        stream.writes.push(performance.now());
        res.write(event({ content: chunks[i] }, null));
        i++;
        setTimeout(next, chunkMs);
      };
      setTimeout(next, firstDelayMs);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}/v1`, streams, completions, server };
}

/** Index of the chunk that completes each of `sentences` (whose concatenation `chunks` splits). */
export function sentenceEnds(chunks: string[], sentences: string[]): number[] {
  const ends: number[] = [];
  let acc = "";
  for (const [i, ch] of chunks.entries()) {
    acc += ch;
    if (acc === sentences.slice(0, ends.length + 1).join("")) ends.push(i);
  }
  if (ends.length !== sentences.length) throw new Error("every sentence must end on a chunk boundary");
  return ends;
}

/** The bundle on the timed model server (main and fast model) and the fake transcription server, plus `env`. */
export function startVoiceBenchServer(modelUrl: string, sttUrl: string, dataDir: string, env: Record<string, string> = {}) {
  return startServerProcess(
    { LLM_BASE_URL: modelUrl, LLM_MODELS: "bench-main,bench-fast", LLM_FAST_MODEL: "bench-fast", STT_BASE_URL: sttUrl, STT_MODEL: "bench-whisper", ...env },
    dataDir,
  );
}

/** The production bundle (built first) in its own process on a free port. */
export async function startServerProcess(env: Record<string, string>, dataDir: string): Promise<{ child: ChildProcess; url: string; upAt: number; stop(): Promise<void> }> {
  const { buildAll } = (await import(join(root, "scripts/build.mjs"))) as { buildAll: (o: { quiet: boolean }) => Promise<void> };
  await buildAll({ quiet: true });
  const port = await freePort();
  const child = spawn(process.execPath, [join(root, "apps/server/dist/main.js")], {
    env: { ...process.env, HOST: "127.0.0.1", PORT: String(port), DATA_DIR: dataDir, LOG_LEVEL: "warn", ...env },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    await exited;
  };
  for (let i = 0; i < 300; i++) {
    try {
      if ((await fetch(`${url}/healthz`)).ok) return { child, url, upAt: performance.now(), stop };
    } catch {
      /* starting */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  throw new Error("server did not start");
}

export type Msg = { type: string; [k: string]: unknown };

/** A WebSocket client that timestamps (performance.now) every message, and each binary frame with how many JSON messages preceded it. */
export class Client {
  readonly messages: { m: Msg; at: number }[] = [];
  readonly binary: { after: number; bytes: number; at: number }[] = [];
  #waiters: { pred: (m: Msg) => boolean; resolve: (m: Msg) => void }[] = [];
  private constructor(readonly ws: WebSocket) {
    ws.on("message", (data, isBinary) => {
      const at = performance.now();
      if (isBinary) {
        this.binary.push({ after: this.messages.length, bytes: (data as Buffer).length, at });
        return;
      }
      const m = JSON.parse(String(data)) as Msg;
      this.messages.push({ m, at });
      this.#waiters = this.#waiters.filter((w) => (w.pred(m) ? (w.resolve(m), false) : true));
    });
  }
  static async open(url: string): Promise<Client> {
    const ws = new WebSocket(url);
    await new Promise<void>((res, rej) => (ws.once("open", () => res()), ws.once("error", rej)));
    return new Client(ws);
  }
  /** Registers a fresh account on this connection. */
  async signUp(prefix: string): Promise<void> {
    this.send({ type: "auth_request", data: { type: "register", username: `${prefix}_${Date.now().toString(36)}`, password: "benchmark password" } });
    const r = await this.wait((m) => m.type === "auth_response");
    if (!r.success) throw new Error(`sign-up failed: ${JSON.stringify(r)}`);
  }
  send(o: object): void {
    this.ws.send(JSON.stringify(o));
  }
  wait(pred: (m: Msg) => boolean, from = 0, timeoutMs = 20_000): Promise<Msg> {
    const seen = this.messages.slice(from).find((x) => pred(x.m));
    if (seen) return Promise.resolve(seen.m);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error("timed out")), timeoutMs);
      this.#waiters.push({ pred, resolve: (m) => (clearTimeout(t), resolve(m)) });
    });
  }
  /** Each speech_audio of `requestId` (from message `from` on) with the binary frame that directly followed it. */
  speech(requestId: string, from = 0): { header: Msg; headerAt: number; frameAt: number | undefined; bytes: number }[] {
    return this.messages.flatMap((x, i) => {
      if (i < from || x.m.type !== "speech_audio" || x.m.request_id !== requestId) return [];
      const frame = this.binary.find((b) => b.after === i + 1);
      return [{ header: x.m, headerAt: x.at, frameAt: frame?.at, bytes: frame?.bytes ?? 0 }];
    });
  }
}

/** Sends `frames` like a microphone, one every `frameMs`; resolves with when each was sent. */
export async function streamRealTime(c: Client, frames: Buffer[], frameMs = 20): Promise<number[]> {
  const sent: number[] = [];
  const t0 = performance.now();
  for (const [i, frame] of frames.entries()) {
    sent.push(performance.now());
    c.ws.send(frame);
    const due = t0 + (i + 1) * frameMs;
    if (due > performance.now()) await new Promise((res) => setTimeout(res, due - performance.now()));
  }
  return sent;
}

/** Stream time (ms) where the detector's last speech frame of the one question in `audio` ends. */
export async function detectorSpeechEnd(audio: Int16Array): Promise<number> {
  const vad = await SileroVad.load({ workers: 1 });
  try {
    const found: Utterance[] = [];
    const input = new VoiceInput(vad.createVad, { speech() {}, utterance: (u) => found.push(u), failed: (e) => { throw e; } }, voiceSettings(), systemClock);
    for (const f of pcmFrames(audio, 20)) input.push(f);
    await input.end();
    if (found.length !== 1) throw new Error(`expected one utterance, found ${found.length}`);
    return found[0]!.speechEndMs;
  } finally {
    await vad.close();
  }
}

/** Index of the last sample of the last 10 ms block louder than -40 dBFS. */
export function lastVoicedSample(audio: Int16Array): number {
  for (let end = audio.length; end > 0; end -= 160) {
    const block = audio.subarray(Math.max(0, end - 160), end);
    let sum = 0;
    for (const s of block) sum += s * s;
    if (Math.sqrt(sum / block.length) / 32768 > 0.01) return end - 1;
  }
  return 0;
}
