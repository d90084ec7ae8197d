// A scriptable OpenAI-compatible speech server (`POST /v1/audio/speech`) for
// tests and benchmarks that synthesises REAL speech: espeak-ng speaks the
// `input` (WAV, 22,050 Hz) and sox converts it to what was asked for —
// `response_format: "pcm"` gives raw 24 kHz mono s16le (`audio/pcm`), "wav" a
// WAV file. Scripts make it fail (status, Retry-After), stall, send garbage,
// an empty body, the wrong content type, a WAV-only reply or audio at another
// rate. Every request records what arrived and how long the server took.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import { promisify } from "node:util";
import { arrivals, errorBody, readBody, remember, Script, sendError, sendJson, serveLoopback, wait, watchExchange } from "./http.js";

const execFileP = promisify(execFile);

export type FakeTtsOutcome = "pending" | "completed" | "client_closed";

export interface FakeTtsRequest {
  seq: number;
  model: string;
  input: string;
  voice: string;
  responseFormat: string | undefined;
  speed: number | undefined;
  headers: IncomingHttpHeaders;
  /** Clock (performance.now) when the request arrived and when its reply was finished. */
  arrivedAt: number;
  answeredAt: number | undefined;
  /** Bytes of audio sent (0 until answered). */
  audioBytes: number;
  outcome: FakeTtsOutcome;
  settled: Promise<Exclude<FakeTtsOutcome, "pending">>;
}

export type FakeTtsBehaviour =
  /** Real speech of the input; `delayMs` before answering; `wavOnly`: a server that only speaks WAV (22,050 Hz, whatever was asked). */
  | { kind: "speak"; delayMs?: number; wavOnly?: boolean; rate?: number }
  /** Real speech at `rate` Hz sent as raw PCM labelled `audio/pcm;rate=…` (a server of another rate). */
  | { kind: "wrong_rate"; rate: number; delayMs?: number }
  | { kind: "error"; status: number; message?: string; retryAfter?: number | string; delayMs?: number }
  /** Status 200, `audio/wav`, random bytes. */
  | { kind: "garbage"; bytes?: number; delayMs?: number }
  | { kind: "empty"; delayMs?: number }
  /** Status 200 with an HTML page (a proxy's error page). */
  | { kind: "wrong_type"; delayMs?: number }
  /** Never answers (until the client gives up or close() runs). */
  | { kind: "hang" };

export const ttsBehave = {
  speak: (options: { delayMs?: number; wavOnly?: boolean } = {}): FakeTtsBehaviour => ({ kind: "speak", ...options }),
  wrongRate: (rate: number, options: { delayMs?: number } = {}): FakeTtsBehaviour => ({ kind: "wrong_rate", rate, ...options }),
  error: (status: number, options: { message?: string; retryAfter?: number | string; delayMs?: number } = {}): FakeTtsBehaviour => ({
    kind: "error",
    status,
    ...options,
  }),
  garbage: (options: { bytes?: number; delayMs?: number } = {}): FakeTtsBehaviour => ({ kind: "garbage", ...options }),
  empty: (options: { delayMs?: number } = {}): FakeTtsBehaviour => ({ kind: "empty", ...options }),
  wrongType: (options: { delayMs?: number } = {}): FakeTtsBehaviour => ({ kind: "wrong_type", ...options }),
  hang: (): FakeTtsBehaviour => ({ kind: "hang" }),
};

export interface FakeTtsOptions {
  recordLimit?: number;
  /** Keep each text's synthesised audio, so later requests cost only `delayMs` (benchmarks of our own overhead). */
  cache?: boolean;
}

export interface FakeTts {
  readonly url: string;
  readonly requests: readonly FakeTtsRequest[];
  script(behaviour: FakeTtsBehaviour | FakeTtsBehaviour[]): void;
  /** The behaviour for requests whose input contains `text` (checked before the queue; requests in flight together arrive in any order). */
  scriptFor(text: string, behaviour: FakeTtsBehaviour): void;
  /** The behaviour once the queue is empty (default: speak). */
  setDefault(behaviour: FakeTtsBehaviour): void;
  nextRequest(): Promise<FakeTtsRequest>;
  reset(): void;
  close(): Promise<void>;
}

/** espeak-ng's WAV of `text` (22,050 Hz mono s16). */
export async function espeakWav(text: string, wpm = 175): Promise<Buffer> {
  const { stdout } = await execFileP("espeak-ng", ["--stdout", "-s", String(wpm), "-v", "en-us", "--", text], {
    encoding: "buffer",
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout;
}

/** `text` spoken by espeak-ng, converted by sox: raw mono s16le at `rate`, or a WAV at `rate` with `wav`. */
export async function espeakAudio(text: string, rate: number, wav = false): Promise<Buffer> {
  const out = wav ? ["-t", "wav", "-"] : ["-t", "raw", "-"];
  const cmd = `espeak-ng --stdout -v en-us -- "$1" | sox -q -t wav - -r ${rate} -c 1 -b 16 -e signed-integer ${out.join(" ")}`;
  const { stdout } = await execFileP("sh", ["-c", cmd, "sh", text], { encoding: "buffer", maxBuffer: 64 * 1024 * 1024 });
  if (stdout.length === 0) throw new Error(`espeak-ng produced no audio for ${JSON.stringify(text)}`);
  // sox writes a WAV to a pipe with 0xFFFFFFFF sizes; a real server knows the length: fix the header.
  if (wav && stdout.length >= 44 && stdout.toString("latin1", 36, 40) === "data") {
    stdout.writeUInt32LE(stdout.length - 8, 4);
    stdout.writeUInt32LE(stdout.length - 44, 40);
  }
  return stdout;
}

export async function startFakeTts(options: FakeTtsOptions = {}): Promise<FakeTts> {
  const recordLimit = options.recordLimit ?? Infinity;
  const requests: FakeTtsRequest[] = [];
  const arrived = arrivals<FakeTtsRequest>();
  const cache = new Map<string, Promise<Buffer>>();
  const behaviours = new Script<FakeTtsBehaviour>(ttsBehave.speak());
  let byText: [string, FakeTtsBehaviour][] = [];
  let seq = 0;

  const audio = (text: string, rate: number, wav: boolean): Promise<Buffer> => {
    if (!options.cache) return espeakAudio(text, rate, wav);
    const key = `${rate}:${wav}:${text}`;
    let hit = cache.get(key);
    if (!hit) {
      hit = espeakAudio(text, rate, wav);
      cache.set(key, hit);
    }
    return hit;
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "POST" || path !== "/v1/audio/speech") {
      req.resume();
      sendJson(res, 404, errorBody(`Unknown route ${req.method} ${path}`, "invalid_request_error"));
      return;
    }
    const arrivedAt = performance.now();
    let body: Record<string, unknown>;
    try {
      body = JSON.parse((await readBody(req)).toString("utf8")) as Record<string, unknown>;
    } catch {
      sendJson(res, 400, errorBody("Body must be JSON.", "invalid_request_error"));
      return;
    }
    const record = recordRequest(req, res, body, arrivedAt);
    arrived.arrived(record);
    if (!record.model || !record.input || !record.voice) {
      sendJson(res, 400, errorBody("`model`, `input` and `voice` are required.", "invalid_request_error"));
      return;
    }
    const b = byText.find(([t]) => record.input.includes(t))?.[1] ?? behaviours.next();
    await perform(b, record, res);
  }

  function recordRequest(req: IncomingMessage, res: ServerResponse, body: Record<string, unknown>, arrivedAt: number): FakeTtsRequest {
    res.on("finish", () => (record.answeredAt = performance.now()));
    const exchange = watchExchange(res, (o) => (record.outcome = o));
    const str = (v: unknown) => (typeof v === "string" ? v : "");
    const record: FakeTtsRequest = {
      seq: ++seq,
      model: str(body.model),
      input: str(body.input),
      voice: str(body.voice),
      responseFormat: typeof body.response_format === "string" ? body.response_format : undefined,
      speed: typeof body.speed === "number" ? body.speed : undefined,
      headers: req.headers,
      arrivedAt,
      answeredAt: undefined,
      audioBytes: 0,
      outcome: "pending",
      settled: exchange.settled,
    };
    remember(requests, record, recordLimit);
    return record;
  }

  function sendAudio(res: ServerResponse, record: FakeTtsRequest, type: string, bytes: Buffer): void {
    if (res.destroyed) return;
    record.audioBytes = bytes.length;
    res.writeHead(200, { "content-type": type, "content-length": bytes.length });
    res.end(bytes);
  }

  async function perform(b: FakeTtsBehaviour, record: FakeTtsRequest, res: ServerResponse): Promise<void> {
    if (b.kind === "hang") return;
    if (b.delayMs) await wait(b.delayMs, res);
    if (res.destroyed) return;
    switch (b.kind) {
      case "speak": {
        const wav = b.wavOnly || record.responseFormat === "wav";
        if (!wav && record.responseFormat !== "pcm") {
          sendJson(res, 400, errorBody(`fake-tts speaks pcm and wav, not ${record.responseFormat}`, "invalid_request_error"));
          return;
        }
        const bytes = await audio(record.input, b.wavOnly ? 22_050 : 24_000, wav);
        sendAudio(res, record, wav ? "audio/wav" : "audio/pcm", bytes);
        return;
      }
      case "wrong_rate":
        sendAudio(res, record, `audio/pcm;rate=${b.rate}`, await audio(record.input, b.rate, false));
        return;
      case "garbage":
        sendAudio(res, record, "audio/wav", randomBytes(b.bytes ?? 4096));
        return;
      case "empty":
        sendAudio(res, record, "audio/pcm", Buffer.alloc(0));
        return;
      case "wrong_type": {
        const page = Buffer.from("<html><body><h1>502 Bad Gateway</h1></body></html>");
        sendAudio(res, record, "text/html", page);
        return;
      }
      case "error": {
        sendError(res, b.status, b.message ?? `fake-tts error ${b.status}`, { retryAfter: b.retryAfter });
        return;
      }
    }
  }

  const http = await serveLoopback(handle, { noDelay: true });
  return {
    url: `http://127.0.0.1:${http.port}/v1`,
    requests,
    script: (behaviour) => behaviours.add(behaviour),
    scriptFor(text, behaviour) {
      byText.push([text, behaviour]);
    },
    setDefault: (behaviour) => behaviours.setDefault(behaviour),
    nextRequest: arrived.next,
    reset() {
      behaviours.reset();
      byText = [];
      requests.length = 0;
    },
    close: http.close,
  };
}
