// The VoiceActivityDetector port on Silero VAD (v5, ONNX) with onnxruntime-node.
//
// onnxruntime-node's `session.run()` is only nominally async: it runs the
// model on the calling thread after a setImmediate. So the model runs on
// worker threads here, and the event loop only posts frames and reads scores.
// Each worker holds one InferenceSession and the recurrent state of the
// streams pinned to it, and scores one frame of every waiting stream in a
// single batched call (the model takes a batch dimension): per-call overhead
// dominates a model this small, so batching is what lets one core serve
// dozens of live streams.
import { dirname, join } from "node:path";
import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import type * as WorkerThreads from "node:worker_threads";
import type * as Ort from "onnxruntime-node";
import type { VadFactory, VoiceActivityDetector } from "@tutor/core";

export const SILERO_SAMPLE_RATE = 16_000;
/** Samples per scored frame at 16 kHz (32 ms). */
export const SILERO_FRAME_SAMPLES = 512;

export interface SileroVadOptions {
  /** Worker threads running the model. Default: one per core beyond the first, at most 4, at least 1. */
  workers?: number;
  /** Most streams scored in one model call. */
  maxBatch?: number;
  /** The .onnx file; default: the one shipped in @livekit/agents-plugin-silero. */
  modelPath?: string;
}

const localRequire = createRequire(import.meta.url);

/** The Silero model file that ships inside @livekit/agents-plugin-silero (no download at run time). */
export function sileroModelPath(): string {
  // The package's `exports` hide the .onnx file; it sits next to the entry point.
  return join(dirname(localRequire.resolve("@livekit/agents-plugin-silero")), "silero_vad.onnx");
}

type ToWorker =
  | { t: "open"; id: number }
  | { t: "close"; id: number }
  | { t: "run"; id: number; req: number; pcm: Int16Array };
type FromWorker =
  | { t: "ready" }
  | { t: "fatal"; message: string }
  | { t: "result"; req: number; probs: Float32Array }
  | { t: "error"; req: number; message: string };

interface Pending {
  resolve: (p: Float32Array) => void;
  reject: (e: Error) => void;
}

class WorkerHandle {
  readonly worker: Worker;
  readonly ready: Promise<void>;
  readonly pending = new Map<number, Pending>();
  streams = 0;
  dead: Error | undefined;

  constructor(modelPath: string, maxBatch: number) {
    // `__name`: some TypeScript loaders (tsx's keepNames) wrap inner functions
    // in a helper of that name, which an eval worker would not have.
    this.worker = new Worker(`var __name = (f) => f;\n(${workerMain.toString()})(require)`, {
      eval: true,
      workerData: { ortPath: localRequire.resolve("onnxruntime-node"), modelPath, maxBatch },
    });
    // Idle workers must not keep a process (or a test run) alive; close() ends them.
    this.worker.unref();
    this.ready = new Promise((resolve, reject) => {
      this.worker.on("message", (m: FromWorker) => {
        switch (m.t) {
          case "ready":
            return resolve();
          case "fatal":
            this.#die(new Error(`Silero VAD worker failed: ${m.message}`));
            return reject(this.dead);
          case "result": {
            const p = this.pending.get(m.req);
            this.pending.delete(m.req);
            return p?.resolve(m.probs);
          }
          case "error": {
            const p = this.pending.get(m.req);
            this.pending.delete(m.req);
            return p?.reject(new Error(`Silero VAD failed: ${m.message}`));
          }
        }
      });
      this.worker.on("error", (err) => {
        this.#die(err);
        reject(err);
      });
      this.worker.on("exit", (code) => {
        this.#die(new Error(`Silero VAD worker exited (code ${code})`));
        reject(this.dead);
      });
    });
    this.ready.catch(() => {});
  }

  post(m: ToWorker, transfer?: ArrayBuffer[]): void {
    this.worker.postMessage(m, transfer);
  }

  #die(err: Error): void {
    if (this.dead) return;
    this.dead = err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}

class SileroStream implements VoiceActivityDetector {
  readonly sampleRate = SILERO_SAMPLE_RATE;
  readonly frameSamples = SILERO_FRAME_SAMPLES;
  #closed = false;

  constructor(
    private readonly handle: WorkerHandle,
    private readonly id: number,
    private readonly nextReq: () => number,
  ) {}

  probabilities(pcm: Int16Array): Promise<Float32Array> {
    if (this.#closed) return Promise.reject(new Error("the VAD stream is closed"));
    if (this.handle.dead) return Promise.reject(this.handle.dead);
    if (pcm.length % SILERO_FRAME_SAMPLES !== 0) {
      return Promise.reject(new RangeError(`pcm length ${pcm.length} is not a multiple of ${SILERO_FRAME_SAMPLES}`));
    }
    if (pcm.length === 0) return Promise.resolve(new Float32Array(0));
    const req = this.nextReq();
    // A copy we can hand over without cloning (the caller may keep using its array).
    const copy = pcm.slice();
    return new Promise((resolve, reject) => {
      this.handle.pending.set(req, { resolve, reject });
      this.handle.post({ t: "run", id: this.id, req, pcm: copy }, [copy.buffer as ArrayBuffer]);
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.handle.streams--;
    if (!this.handle.dead) this.handle.post({ t: "close", id: this.id });
  }
}

export class SileroVad {
  readonly workers: number;
  readonly #modelPath: string;
  readonly #maxBatch: number;
  #handles: WorkerHandle[];
  #ids = 0;
  #reqs = 0;

  private constructor(modelPath: string, workers: number, maxBatch: number) {
    this.#modelPath = modelPath;
    this.workers = workers;
    this.#maxBatch = maxBatch;
    this.#handles = Array.from({ length: workers }, () => new WorkerHandle(modelPath, maxBatch));
  }

  /** Starts the workers and waits until each has loaded the model. */
  static async load(options: SileroVadOptions = {}): Promise<SileroVad> {
    const workers = options.workers ?? Math.max(1, Math.min(4, availableParallelism() - 1));
    const maxBatch = options.maxBatch ?? 32;
    if (!(Number.isInteger(workers) && workers >= 1)) throw new RangeError("workers must be an integer >= 1");
    if (!(Number.isInteger(maxBatch) && maxBatch >= 1)) throw new RangeError("maxBatch must be an integer >= 1");
    const vad = new SileroVad(options.modelPath ?? sileroModelPath(), workers, maxBatch);
    try {
      await Promise.all(vad.#handles.map((h) => h.ready));
    } catch (err) {
      await vad.close();
      throw err;
    }
    return vad;
  }

  /** The port's factory: a detector for one new stream, on the least busy worker. */
  readonly createVad: VadFactory = async () => {
    // A worker that died (it should not) is replaced for new streams.
    this.#handles = this.#handles.map((h) => (h.dead ? new WorkerHandle(this.#modelPath, this.#maxBatch) : h));
    const handle = this.#handles.reduce((a, b) => (b.streams < a.streams ? b : a));
    await handle.ready;
    const id = ++this.#ids;
    handle.streams++;
    handle.post({ t: "open", id });
    return new SileroStream(handle, id, () => ++this.#reqs);
  };

  /** Open streams per worker. */
  get load(): number[] {
    return this.#handles.map((h) => h.streams);
  }

  async close(): Promise<void> {
    await Promise.all(this.#handles.map((h) => h.worker.terminate()));
  }
}

/**
 * The worker's whole program. It runs from its source text (an eval worker),
 * so it must not refer to anything outside itself (`load` is the worker's own
 * `require`): that keeps it working the same under tsx, vitest and the esbuild
 * server bundle.
 */
function workerMain(load: NodeJS.Require): void {
  const { parentPort, workerData } = load("node:worker_threads") as typeof WorkerThreads;
  const ort = load(workerData.ortPath) as typeof Ort;
  const FRAME = 512;
  const CONTEXT = 64;
  const INPUT = FRAME + CONTEXT;
  const UNITS = 128;
  const maxBatch: number = workerData.maxBatch;
  interface Job {
    req: number;
    pcm: Int16Array;
    frames: number;
    done: number;
    out: Float32Array;
  }
  interface Stream {
    state: Float32Array; // [2, 1, 128]
    context: Float32Array;
    jobs: Job[];
  }
  const streams = new Map<number, Stream>();
  // Streams with work, in turn order (a Set keeps insertion order).
  const waiting = new Set<Stream>();
  const sr = new ort.Tensor("int64", BigInt64Array.from([16000n]));
  let session: Ort.InferenceSession | undefined;
  let running = false;

  const port = parentPort!;
  port.on("message", (m: { t: string; id: number; req: number; pcm: Int16Array }) => {
    if (m.t === "open") {
      streams.set(m.id, { state: new Float32Array(2 * UNITS), context: new Float32Array(CONTEXT), jobs: [] });
    } else if (m.t === "close") {
      const s = streams.get(m.id);
      streams.delete(m.id);
      if (!s) return;
      waiting.delete(s);
      for (const job of s.jobs) port.postMessage({ t: "error", req: job.req, message: "the VAD stream was closed" });
      s.jobs = [];
    } else if (m.t === "run") {
      const s = streams.get(m.id);
      if (!s) {
        port.postMessage({ t: "error", req: m.req, message: "unknown stream" });
        return;
      }
      const frames = m.pcm.length / FRAME;
      s.jobs.push({ req: m.req, pcm: m.pcm, frames, done: 0, out: new Float32Array(frames) });
      waiting.add(s);
      void pump();
    }
  });

  async function pump(): Promise<void> {
    if (running || !session) return;
    running = true;
    try {
      while (waiting.size) {
        const batch: Stream[] = [];
        for (const s of waiting) {
          batch.push(s);
          if (batch.length === maxBatch) break;
        }
        const b = batch.length;
        const input = new Float32Array(b * INPUT);
        const state = new Float32Array(2 * b * UNITS);
        for (let i = 0; i < b; i++) {
          const s = batch[i]!;
          const job = s.jobs[0]!;
          const base = i * INPUT;
          input.set(s.context, base);
          const from = job.done * FRAME;
          for (let j = 0; j < FRAME; j++) input[base + CONTEXT + j] = job.pcm[from + j]! / 32768;
          state.set(s.state.subarray(0, UNITS), i * UNITS);
          state.set(s.state.subarray(UNITS), (b + i) * UNITS);
        }
        let probs: Float32Array;
        let next: Float32Array;
        try {
          const out = await session.run({
            input: new ort.Tensor("float32", input, [b, INPUT]),
            state: new ort.Tensor("float32", state, [2, b, UNITS]),
            sr,
          });
          probs = out.output!.data as Float32Array;
          next = out.stateN!.data as Float32Array;
        } catch (err) {
          for (const s of batch) {
            const job = s.jobs.shift()!;
            port.postMessage({ t: "error", req: job.req, message: String(err) });
            if (!s.jobs.length) waiting.delete(s);
          }
          continue;
        }
        for (let i = 0; i < b; i++) {
          const s = batch[i]!;
          // Closed while the model ran: nothing to update or answer.
          if (!waiting.has(s)) continue;
          const job = s.jobs[0]!;
          s.state.set(next.subarray(i * UNITS, (i + 1) * UNITS), 0);
          s.state.set(next.subarray((b + i) * UNITS, (b + i + 1) * UNITS), UNITS);
          s.context = input.slice((i + 1) * INPUT - CONTEXT, (i + 1) * INPUT);
          job.out[job.done++] = probs[i]!;
          waiting.delete(s);
          if (job.done === job.frames) {
            s.jobs.shift();
            port.postMessage({ t: "result", req: job.req, probs: job.out }, [job.out.buffer as ArrayBuffer]);
          }
          // Back of the line, so every stream gets its turn when there are more than maxBatch.
          if (s.jobs.length) waiting.add(s);
        }
      }
    } finally {
      running = false;
    }
  }

  ort.InferenceSession.create(workerData.modelPath, {
    interOpNumThreads: 1,
    intraOpNumThreads: 1,
    executionMode: "sequential",
    graphOptimizationLevel: "all",
  }).then(
    (s) => {
      session = s;
      port.postMessage({ t: "ready" });
      void pump();
    },
    (err: unknown) => port.postMessage({ t: "fatal", message: String(err) }),
  );
}
