// A scriptable OpenAI-compatible transcription server (`POST
// /v1/audio/transcriptions`, multipart) for tests and benchmarks. Like a real
// service it refuses what it cannot decode: the uploaded file must be a WAV
// of 16 kHz mono 16-bit PCM. Every request records what arrived (the form
// fields, the audio's duration and energy), so a test can assert that the
// server sent real speech, not silence or garbage.
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import { arrivals, errorBody, readBody, remember, Script, sendError, sendJson, serveLoopback, wait, watchExchange } from "./http.js";

export interface WavInfo {
  sampleRate: number;
  channels: number;
  bitsPerSample: number;
  durationMs: number;
  /** Root mean square of the samples, 0..1 of full scale. Speech is ~0.02–0.3; silence ~0. */
  rms: number;
  /** Largest absolute sample, 0..1 of full scale. */
  peak: number;
  samples: Int16Array;
}

export type FakeSttOutcome = "pending" | "completed" | "client_closed";

export interface FakeSttRequest {
  seq: number;
  model: string;
  prompt: string | undefined;
  responseFormat: string | undefined;
  /** Every text field of the form. */
  fields: Record<string, string>;
  fileName: string | undefined;
  fileType: string | undefined;
  fileBytes: number;
  /** The decoded audio; undefined when the file was missing or not a 16 kHz mono s16 WAV (see wavError). */
  wav: WavInfo | undefined;
  wavError: string | undefined;
  headers: IncomingHttpHeaders;
  at: number;
  /** Clock (performance.now) when the request arrived and when its reply was finished (benchmarks: the server's own time). */
  arrivedAt: number;
  answeredAt: number | undefined;
  outcome: FakeSttOutcome;
  settled: Promise<Exclude<FakeSttOutcome, "pending">>;
}

export type FakeSttBehaviour =
  | { kind: "reply"; text: string; delayMs?: number }
  | { kind: "compute"; fn: (request: FakeSttRequest) => string | FakeSttBehaviour }
  | { kind: "error"; status: number; message?: string; retryAfter?: number | string; delayMs?: number }
  /** Status 200 with a body that is not JSON. */
  | { kind: "malformed"; delayMs?: number }
  /** Never answers (until the client gives up or close() runs). */
  | { kind: "hang" };

export const sttBehave = {
  reply: (text: string, options: { delayMs?: number } = {}): FakeSttBehaviour => ({ kind: "reply", text, ...options }),
  compute: (fn: (request: FakeSttRequest) => string | FakeSttBehaviour): FakeSttBehaviour => ({ kind: "compute", fn }),
  error: (status: number, options: { message?: string; retryAfter?: number | string; delayMs?: number } = {}): FakeSttBehaviour => ({
    kind: "error",
    status,
    ...options,
  }),
  malformed: (options: { delayMs?: number } = {}): FakeSttBehaviour => ({ kind: "malformed", ...options }),
  hang: (): FakeSttBehaviour => ({ kind: "hang" }),
};

export interface FakeSttOptions {
  /** Keep only the last N requests (benchmarks); default all. */
  recordLimit?: number;
  /** Called as each request arrives, before it is answered (benchmarks time it). */
  onRequest?: (request: FakeSttRequest) => void;
}

export interface FakeStt {
  /** Base URL including `/v1`. */
  readonly url: string;
  readonly requests: readonly FakeSttRequest[];
  /** Queue behaviours for the next requests, one each. */
  script(behaviour: FakeSttBehaviour | FakeSttBehaviour[]): void;
  /** The behaviour once the queue is empty (default: reply "This is a fake transcription."). */
  setDefault(behaviour: FakeSttBehaviour): void;
  /** Resolves with the next request to arrive. */
  nextRequest(): Promise<FakeSttRequest>;
  reset(): void;
  close(): Promise<void>;
}

export const FAKE_STT_DEFAULT_TEXT = "This is a fake transcription.";

export async function startFakeStt(options: FakeSttOptions = {}): Promise<FakeStt> {
  const recordLimit = options.recordLimit ?? Infinity;
  const requests: FakeSttRequest[] = [];
  const arrived = arrivals<FakeSttRequest>();
  const behaviours = new Script<FakeSttBehaviour>(sttBehave.reply(FAKE_STT_DEFAULT_TEXT));
  let seq = 0;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "POST" || path !== "/v1/audio/transcriptions") {
      req.resume();
      sendJson(res, 404, errorBody(`Unknown route ${req.method} ${path}`, "invalid_request_error"));
      return;
    }
    const arrivedAt = performance.now();
    const contentType = req.headers["content-type"] ?? "";
    if (!contentType.startsWith("multipart/form-data")) {
      req.resume();
      sendJson(res, 400, errorBody("Expected a multipart/form-data body.", "invalid_request_error"));
      return;
    }
    const body = await readBody(req);
    let form: FormData;
    try {
      // The platform's own multipart parser (undici), as a real server would use a well-kept one.
      form = await new Request("http://fake.local/", { method: "POST", headers: { "content-type": contentType }, body }).formData();
    } catch (err) {
      sendJson(res, 400, errorBody(`Malformed multipart body: ${String(err)}`, "invalid_request_error"));
      return;
    }
    const fields: Record<string, string> = {};
    let file: File | undefined;
    for (const [key, value] of form.entries()) {
      if (typeof value === "string") fields[key] = value;
      else if (key === "file") file = value;
    }
    let wav: WavInfo | undefined;
    let wavError: string | undefined;
    if (!file) wavError = "no `file` field";
    else {
      const parsed = parseWav(new Uint8Array(await file.arrayBuffer()));
      if ("error" in parsed) wavError = parsed.error;
      else wav = parsed;
    }
    const record = recordRequest(req, res, { fields, file, wav, wavError }, arrivedAt);
    options.onRequest?.(record);
    arrived.arrived(record);

    if (!record.model) {
      sendJson(res, 400, errorBody("`model` is required.", "invalid_request_error"));
      return;
    }
    if (wavError) {
      sendJson(res, 400, errorBody(`Could not decode the audio file: ${wavError}.`, "invalid_request_error"));
      return;
    }
    let behaviour = behaviours.next();
    for (let i = 0; behaviour.kind === "compute" && i < 8; i++) {
      const out = behaviour.fn(record);
      behaviour = typeof out === "string" ? sttBehave.reply(out) : out;
    }
    await perform(behaviour, res);
  }

  function recordRequest(
    req: IncomingMessage,
    res: ServerResponse,
    got: { fields: Record<string, string>; file: File | undefined; wav: WavInfo | undefined; wavError: string | undefined },
    arrivedAt: number,
  ): FakeSttRequest {
    res.on("finish", () => (record.answeredAt = performance.now()));
    const exchange = watchExchange(res, (o) => (record.outcome = o));
    const record: FakeSttRequest = {
      seq: ++seq,
      model: got.fields.model ?? "",
      prompt: got.fields.prompt,
      responseFormat: got.fields.response_format,
      fields: got.fields,
      fileName: got.file?.name,
      fileType: got.file?.type,
      fileBytes: got.file?.size ?? 0,
      wav: got.wav,
      wavError: got.wavError,
      headers: req.headers,
      at: Date.now(),
      arrivedAt,
      answeredAt: undefined,
      outcome: "pending",
      settled: exchange.settled,
    };
    remember(requests, record, recordLimit);
    return record;
  }

  async function perform(b: FakeSttBehaviour, res: ServerResponse): Promise<void> {
    switch (b.kind) {
      case "compute":
        sendJson(res, 500, errorBody("fake-stt: compute behaviours nested too deeply", "server_error"));
        return;
      case "hang":
        return;
      case "reply":
        if (b.delayMs) await wait(b.delayMs, res);
        sendJson(res, 200, { text: b.text });
        return;
      case "malformed":
        if (b.delayMs) await wait(b.delayMs, res);
        if (res.destroyed) return;
        res.writeHead(200, { "content-type": "application/json" });
        res.end('{"text": "oo');
        return;
      case "error": {
        if (b.delayMs) await wait(b.delayMs, res);
        sendError(res, b.status, b.message ?? `fake-stt error ${b.status}`, { retryAfter: b.retryAfter });
        return;
      }
    }
  }

  const http = await serveLoopback(handle, { noDelay: true });

  return {
    url: `http://127.0.0.1:${http.port}/v1`,
    requests,
    script: (behaviour) => behaviours.add(behaviour),
    setDefault: (behaviour) => behaviours.setDefault(behaviour),
    nextRequest: arrived.next,
    reset() {
      behaviours.reset();
      requests.length = 0;
    },
    close: http.close,
  };
}

/** Reads a WAV file and insists on 16 kHz mono 16-bit PCM (what the tutor's server must send). */
export function parseWav(bytes: Uint8Array): WavInfo | { error: string } {
  if (bytes.length < 44) return { error: `file of ${bytes.length} bytes is too short for a WAV header` };
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tag = (at: number) => String.fromCharCode(bytes[at]!, bytes[at + 1]!, bytes[at + 2]!, bytes[at + 3]!);
  if (tag(0) !== "RIFF" || tag(8) !== "WAVE") return { error: "not a RIFF/WAVE file" };
  if (v.getUint32(4, true) + 8 !== bytes.length) return { error: `RIFF size ${v.getUint32(4, true) + 8} does not match the file (${bytes.length} bytes)` };
  let fmt: { format: number; channels: number; sampleRate: number; bits: number } | undefined;
  let data: Uint8Array | undefined;
  for (let at = 12; at + 8 <= bytes.length; ) {
    const id = tag(at);
    const size = v.getUint32(at + 4, true);
    const body = at + 8;
    if (body + size > bytes.length) return { error: `chunk "${id}" runs past the end of the file` };
    if (id === "fmt ") {
      if (size < 16) return { error: "fmt chunk too short" };
      fmt = { format: v.getUint16(body, true), channels: v.getUint16(body + 2, true), sampleRate: v.getUint32(body + 4, true), bits: v.getUint16(body + 14, true) };
    } else if (id === "data") {
      data = bytes.subarray(body, body + size);
    }
    at = body + size + (size % 2);
  }
  if (!fmt) return { error: "no fmt chunk" };
  if (!data) return { error: "no data chunk" };
  if (fmt.format !== 1 || fmt.channels !== 1 || fmt.sampleRate !== 16000 || fmt.bits !== 16) {
    return { error: `expected 16 kHz mono 16-bit PCM, got format ${fmt.format}, ${fmt.channels} channel(s), ${fmt.sampleRate} Hz, ${fmt.bits} bits` };
  }
  if (data.length % 2) return { error: "data chunk is not whole 16-bit samples" };
  const samples = new Int16Array(data.length / 2);
  for (let i = 0; i < samples.length; i++) samples[i] = v.getInt16(data.byteOffset - bytes.byteOffset + i * 2, true);
  let sum = 0;
  let peak = 0;
  for (const s of samples) {
    sum += s * s;
    const a = Math.abs(s);
    if (a > peak) peak = a;
  }
  return {
    sampleRate: fmt.sampleRate,
    channels: fmt.channels,
    bitsPerSample: fmt.bits,
    durationMs: (samples.length / fmt.sampleRate) * 1000,
    rms: samples.length ? Math.sqrt(sum / samples.length) / 32768 : 0,
    peak: peak / 32768,
    samples,
  };
}




