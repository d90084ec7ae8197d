// A scriptable OpenAI-compatible chat server for tests and benchmarks. It
// speaks the real wire format over real sockets, so the adapter, its SDK and
// the model chain are exercised exactly as against a provider — only the
// answers (and the failures) are chosen by the test.
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import { errorBody, readBody, remember, Script, sendError, sendJson, serveLoopback, wait, watchExchange } from "./http.js";

export interface FakeChatMessage {
  role: string;
  content: string;
}

/** How one request ended, as the server saw it. */
export type FakeOutcome = "pending" | "completed" | "client_closed" | "server_cut";

export interface FakeRequest {
  /** Sequence number over the server's life (1-based). */
  seq: number;
  model: string;
  messages: FakeChatMessage[];
  stream: boolean;
  params: {
    max_tokens?: number;
    temperature?: number;
    top_p?: number;
    frequency_penalty?: number;
    presence_penalty?: number;
  };
  /** The whole JSON body, for fields not lifted into `params`. */
  body: Record<string, unknown>;
  headers: IncomingHttpHeaders;
  /** Date.now() when the request arrived. */
  at: number;
  /** Updated in place when the exchange ends. */
  outcome: FakeOutcome;
  /** Resolves once the exchange ends; `client_closed` means the client hung up first. */
  settled: Promise<Exclude<FakeOutcome, "pending">>;
}

export interface ReplyOptions {
  /** Explicit stream pieces; their concatenation is the answer. Default: split at words. */
  chunks?: string[];
  /** Pause before each chunk after the first. */
  chunkDelayMs?: number;
  /** Pause before the first token (stream: after the headers are sent). */
  firstTokenDelayMs?: number;
  finishReason?: string;
  /**
   * The usage the final chunk reports when the client asks for it
   * (`stream_options.include_usage`); default characters / 4. `false`: a
   * provider that reports none.
   */
  usage?: { prompt_tokens: number; completion_tokens: number } | false;
}

export type FakeBehaviour =
  | ({ kind: "reply"; text: string } & ReplyOptions)
  /** Decide per request: return the answer text or another behaviour. */
  | { kind: "compute"; fn: (request: FakeRequest) => string | FakeBehaviour }
  | {
      kind: "error";
      status: number;
      message?: string;
      /** The error object's `code` (e.g. `context_length_exceeded`). */
      code?: string;
      /** Sent as the `Retry-After` header (seconds, or an HTTP date string). */
      retryAfter?: number | string;
      /** Sent as the `retry-after-ms` header. */
      retryAfterMs?: number;
      delayMs?: number;
    }
  /** Status 200 but a body that is not valid JSON (non-stream) or a garbage SSE event (stream). */
  | { kind: "malformed"; textBefore?: string; delayMs?: number }
  /**
   * Stream `afterChunks` chunks of `text`, then either destroy the socket
   * (`destroy`, default) or end the response cleanly without a finish_reason
   * or `[DONE]` (`end`). Non-stream: `afterChunks` 0 drops the connection
   * before any response; otherwise headers and half the body are sent first.
   */
  | ({ kind: "cut"; text: string; afterChunks: number; mode?: "destroy" | "end" } & ReplyOptions)
  /** Never answers; `headers: true` sends 200 and SSE headers first (stream only). */
  | { kind: "hang"; headers?: boolean };

/** Builders for the behaviours; plain objects work as well. */
export const behave = {
  reply: (text: string, options: ReplyOptions = {}): FakeBehaviour => ({ kind: "reply", text, ...options }),
  slow: (text: string, firstTokenDelayMs: number, options: ReplyOptions = {}): FakeBehaviour => ({
    kind: "reply",
    text,
    ...options,
    firstTokenDelayMs,
  }),
  compute: (fn: (request: FakeRequest) => string | FakeBehaviour): FakeBehaviour => ({ kind: "compute", fn }),
  error: (
    status: number,
    options: { message?: string; code?: string; retryAfter?: number | string; retryAfterMs?: number; delayMs?: number } = {},
  ): FakeBehaviour => ({ kind: "error", status, ...options }),
  /**
   * A model with a `contextTokens` window, counted the way OpenAI and vLLM do:
   * prompt tokens (here: characters / `charsPerToken`, rounded up, per message
   * plus 4) plus `max_tokens` must fit, else a 400 `context_length_exceeded`.
   */
  contextWindow: (contextTokens: number, answer: string | FakeBehaviour, charsPerToken = 4): FakeBehaviour => ({
    kind: "compute",
    fn: (request) => {
      const prompt = request.messages.reduce((n, m) => n + Math.ceil(String(m.content).length / charsPerToken) + 4, 0);
      const asked = prompt + (request.params.max_tokens ?? 0);
      if (asked <= contextTokens) return answer;
      return {
        kind: "error",
        status: 400,
        code: "context_length_exceeded",
        message:
          `This model's maximum context length is ${contextTokens} tokens. However, you requested ${asked} tokens ` +
          `(${prompt} in the messages, ${request.params.max_tokens ?? 0} in the completion). Please reduce the length of the messages or completion.`,
      };
    },
  }),
  malformed: (options: { textBefore?: string; delayMs?: number } = {}): FakeBehaviour => ({
    kind: "malformed",
    ...options,
  }),
  cut: (
    text: string,
    afterChunks: number,
    options: ReplyOptions & { mode?: "destroy" | "end" } = {},
  ): FakeBehaviour => ({ kind: "cut", text, afterChunks, ...options }),
  hang: (options: { headers?: boolean } = {}): FakeBehaviour => ({ kind: "hang", ...options }),
};

export interface FakeLlmOptions {
  /** Models known from the start (answering with a canned reply until scripted). */
  models?: string[];
  /** Keep only the last N requests in `requests` (benchmarks); default: all. */
  recordLimit?: number;
}

export interface FakeLlm {
  /** Base URL including `/v1`, e.g. `http://127.0.0.1:40123/v1`. */
  readonly url: string;
  /** Every request received, oldest first. */
  readonly requests: readonly FakeRequest[];
  /** Queue behaviours for the next requests to `model` (one each, in order). Makes the model known. */
  script(model: string, behaviour: FakeBehaviour | FakeBehaviour[]): void;
  /** The behaviour once the model's queue is empty. Makes the model known. */
  setDefault(model: string, behaviour: FakeBehaviour): void;
  /** Requests received for `model` (including failed ones). */
  calls(model: string): number;
  /** Chat requests whose exchange has not ended yet (streams being written, hanging requests). */
  readonly open: number;
  /** The most `open` at once since start or `reset()`. */
  readonly peakOpen: number;
  /** Forget scripts, defaults, records and counts (models given at start stay known). */
  reset(): void;
  /** Destroys open sockets (hanging requests included) and stops listening. */
  close(): Promise<void>;
}


const WORDS = /\S+\s*|\s+/g;

function splitText(text: string, chunks: string[] | undefined): string[] {
  if (chunks) return chunks;
  return text.match(WORDS) ?? [];
}

function cannedReply(model: string): FakeBehaviour {
  return { kind: "reply", text: `This is a fake answer from ${model}.` };
}

export async function startFakeLlm(options: FakeLlmOptions = {}): Promise<FakeLlm> {
  const initialModels = options.models ?? [];
  const recordLimit = options.recordLimit ?? Infinity;
  const scripts = new Map<string, Script<FakeBehaviour>>();
  const counts = new Map<string, number>();
  const requests: FakeRequest[] = [];
  let seq = 0;
  let open = 0;
  let peakOpen = 0;
  // Marks an exchange as ended by the server (before its socket's close event).
  const cutters = new WeakMap<ServerResponse, () => void>();

  const ensure = (model: string): Script<FakeBehaviour> => {
    let s = scripts.get(model);
    if (!s) {
      s = new Script(cannedReply(model));
      scripts.set(model, s);
    }
    return s;
  };
  const initModels = () => {
    for (const m of initialModels) ensure(m);
  };
  initModels();

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method === "GET" && path === "/v1/models") {
      req.resume();
      const data = [...scripts.keys()].map((id) => ({ id, object: "model", created: 0, owned_by: "fake" }));
      sendJson(res, 200, { object: "list", data });
      return;
    }
    if (req.method !== "POST" || path !== "/v1/chat/completions") {
      req.resume();
      sendJson(res, 404, errorBody(`Unknown route ${req.method} ${path}`, "invalid_request_error", "not_found"));
      return;
    }
    const raw = (await readBody(req)).toString("utf8");
    let body: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(raw);
      if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error("not an object");
      body = parsed as Record<string, unknown>;
    } catch {
      sendJson(res, 400, errorBody("The request body is not valid JSON.", "invalid_request_error"));
      return;
    }
    const model = typeof body.model === "string" ? body.model : "";
    const record = recordRequest(req, res, body, model);
    counts.set(model, (counts.get(model) ?? 0) + 1);

    const script = scripts.get(model);
    if (!script) {
      sendJson(
        res,
        404,
        errorBody(
          `The model \`${model}\` does not exist or you do not have access to it.`,
          "invalid_request_error",
          "model_not_found",
        ),
      );
      return;
    }
    let behaviour = script.next();
    // A computed behaviour may itself return another computed one; bound the loop.
    for (let i = 0; behaviour.kind === "compute" && i < 8; i++) {
      const out = behaviour.fn(record);
      behaviour = typeof out === "string" ? { kind: "reply", text: out } : out;
    }
    await perform(behaviour, record, req, res);
  }

  function recordRequest(req: IncomingMessage, res: ServerResponse, body: Record<string, unknown>, model: string) {
    const exchange = watchExchange<"server_cut">(res, (o) => {
      open--;
      record.outcome = o;
    });
    const params: FakeRequest["params"] = {};
    for (const key of ["max_tokens", "temperature", "top_p", "frequency_penalty", "presence_penalty"] as const) {
      if (typeof body[key] === "number") params[key] = body[key] as number;
    }
    const record: FakeRequest = {
      seq: ++seq,
      model,
      messages: Array.isArray(body.messages) ? (body.messages as FakeChatMessage[]) : [],
      stream: body.stream === true,
      params,
      body,
      headers: req.headers,
      at: Date.now(),
      outcome: "pending",
      settled: exchange.settled,
    };
    open++;
    peakOpen = Math.max(peakOpen, open);
    cutters.set(res, () => exchange.settle("server_cut"));
    remember(requests, record, recordLimit);
    return record;
  }

  async function perform(b: FakeBehaviour, record: FakeRequest, req: IncomingMessage, res: ServerResponse) {
    const alive = () => !res.destroyed && !res.writableEnded;
    switch (b.kind) {
      case "compute":
        sendJson(res, 500, errorBody("fake-llm: compute behaviours nested too deeply", "server_error"));
        return;
      case "error": {
        if (b.delayMs) await wait(b.delayMs, res);
        if (!alive()) return;
        sendError(res, b.status, b.message ?? `fake-llm error ${b.status}`, { retryAfter: b.retryAfter, retryAfterMs: b.retryAfterMs, code: b.code });
        return;
      }
      case "hang":
        if (b.headers && record.stream) startSse(res);
        // Nothing more: the exchange ends when the client gives up or close() runs.
        return;
      case "malformed": {
        if (b.delayMs) await wait(b.delayMs, res);
        if (!alive()) return;
        if (record.stream) {
          startSse(res);
          const chunk = chunkWriter(`chatcmpl-fake-${record.seq}`, record.model);
          let out = chunk({ role: "assistant", content: "" }, null);
          if (b.textBefore) out += chunk({ content: b.textBefore }, null);
          out += 'data: {"id": "broken", "choices": [{"delta": {"content": "oops\n\n';
          res.end(out);
        } else {
          res.writeHead(200, { "content-type": "application/json" });
          res.end('{"id": "chatcmpl-broken", "choices": [{"message": {"content": "oo');
        }
        return;
      }
      case "reply":
      case "cut": {
        const pieces = splitText(b.text, b.chunks);
        const cutAt = b.kind === "cut" ? Math.max(0, Math.min(b.afterChunks, pieces.length)) : pieces.length;
        if (!record.stream) {
          const total = (b.firstTokenDelayMs ?? 0) + (b.chunkDelayMs ?? 0) * Math.max(0, pieces.length - 1);
          if (total) await wait(total, res);
          if (!alive()) return;
          if (b.kind === "cut") {
            const destroy = () => {
              cutters.get(res)?.();
              res.destroy();
            };
            if (cutAt === 0) {
              destroy();
              return;
            }
            // Headers and half the body, then the connection drops.
            const full = JSON.stringify(completion(record, b.text, b.finishReason ?? "stop", b.usage));
            res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(full) });
            res.write(full.slice(0, full.length >> 1), destroy);
            return;
          }
          sendJson(res, 200, completion(record, b.text, b.finishReason ?? "stop", b.usage));
          return;
        }
        startSse(res);
        const chunk = chunkWriter(`chatcmpl-fake-${record.seq}`, record.model);
        const head = chunk({ role: "assistant", content: "" }, null);
        if (b.firstTokenDelayMs) {
          res.write(head);
          await wait(b.firstTokenDelayMs, res);
        }
        let out = b.firstTokenDelayMs ? "" : head;
        for (let i = 0; i < cutAt; i++) {
          if (i > 0 && b.chunkDelayMs) {
            if (out) res.write(out);
            out = "";
            await wait(b.chunkDelayMs, res);
          }
          if (!alive()) return;
          out += chunk({ content: pieces[i] }, null);
        }
        if (!alive()) return;
        if (b.kind === "cut") {
          if (b.mode === "end") {
            res.end(out);
            return;
          }
          // Flush what was "generated", then drop the connection mid-answer.
          const destroy = () => {
            cutters.get(res)?.();
            res.destroy();
          };
          if (out) res.write(out, destroy);
          else destroy();
          return;
        }
        out += chunk({}, b.finishReason ?? "stop");
        const wantsUsage = (record.body.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true;
        if (wantsUsage && b.usage !== false) {
          const usage = b.usage ?? estimatedUsage(record, b.text);
          out += `data: ${JSON.stringify({ id: `chatcmpl-fake-${record.seq}`, object: "chat.completion.chunk", created: created(), model: record.model, choices: [], usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens } })}\n\n`;
        }
        out += "data: [DONE]\n\n";
        res.end(out);
        return;
      }
    }
  }

  const http = await serveLoopback(handle, { noDelay: true, keepAliveTimeout: 10_000 });

  return {
    url: `http://127.0.0.1:${http.port}/v1`,
    requests,
    script(model, behaviour) {
      ensure(model).add(behaviour);
    },
    setDefault(model, behaviour) {
      ensure(model).setDefault(behaviour);
    },
    calls(model) {
      return counts.get(model) ?? 0;
    },
    get open() {
      return open;
    },
    get peakOpen() {
      return peakOpen;
    },
    reset() {
      peakOpen = open;
      scripts.clear();
      counts.clear();
      requests.length = 0;
      initModels();
    },
    close: http.close,
  };
}

// ---------------------------------------------------------------- wire helpers



function startSse(res: ServerResponse) {
  res.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
    connection: "keep-alive",
  });
  res.flushHeaders();
}

const created = () => Math.floor(Date.now() / 1000);

/**
 * Serialises the chunk envelope once per request; each chunk then costs one
 * small JSON.stringify of its delta (this runs for every token of every turn
 * in the benchmarks).
 */
function chunkWriter(id: string, model: string) {
  const head = `data: {"id":${JSON.stringify(id)},"object":"chat.completion.chunk","created":${created()},"model":${JSON.stringify(model)},"choices":[{"index":0,"delta":`;
  return (delta: { role?: string; content?: string | undefined }, finishReason: string | null): string =>
    `${head}${JSON.stringify(delta)},"finish_reason":${finishReason === null ? "null" : JSON.stringify(finishReason)}}]}\n\n`;
}

function estimatedUsage(record: FakeRequest, text: string): { prompt_tokens: number; completion_tokens: number } {
  const promptChars = record.messages.reduce((n, m) => n + (typeof m.content === "string" ? m.content.length : 0), 0);
  return { prompt_tokens: Math.ceil(promptChars / 4), completion_tokens: Math.ceil(text.length / 4) };
}

function completion(record: FakeRequest, text: string, finishReason: string, usage?: ReplyOptions["usage"]) {
  const { prompt_tokens: promptTokens, completion_tokens: completionTokens } = usage || estimatedUsage(record, text);
  return {
    id: `chatcmpl-fake-${record.seq}`,
    object: "chat.completion",
    created: created(),
    model: record.model,
    choices: [{ index: 0, message: { role: "assistant", content: text }, finish_reason: finishReason }],
    ...(usage === false
      ? {}
      : { usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens } }),
  };
}


