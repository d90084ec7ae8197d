// The ChatModel port over any OpenAI-compatible server (Groq, vLLM, llama.cpp
// server, Ollama, OpenAI). One call = one attempt: retrying and falling back
// belong to the core's ModelChain. Speaks the wire format itself over an
// undici connection pool: the `openai` SDK over fetch and web streams cost
// about five times the CPU per streamed answer (see README).
import { StringDecoder } from "node:string_decoder";
import { createParser, type EventSourceMessage } from "eventsource-parser";
import { Agent, errors as undiciErrors, type Dispatcher } from "undici";
import { LlmError, type ChatModel, type ChatRequest } from "@tutor/core";
import { knownContextTokens } from "./context-windows.js";

export interface OpenAIChatModelOptions {
  baseURL: string;
  /** Local servers usually need none; a placeholder is sent then. */
  apiKey?: string;
  model: string;
  /** Used when a request gives no temperature (from `LLM_MODELS` `name:temperature`). */
  temperature?: number;
  defaultHeaders?: Record<string, string>;
  /** The model's context window in tokens (LLM_CONTEXT_TOKENS); the turn trims its history to fit.
   *  Unset: the published window of a known hosted model (`knownContextTokens`), else unknown. */
  contextTokens?: number;
}

/** Keep-alive connections per origin, shared by every model (a chain's models usually live on one server). */
let sharedAgent: Agent | undefined;
const agent = (): Agent => (sharedAgent ??= new Agent());

interface ChunkChoice {
  delta?: { content?: unknown };
  finish_reason?: unknown;
}

export function createOpenAIChatModel(opts: OpenAIChatModelOptions): ChatModel {
  const model = opts.model;
  const url = new URL(`${opts.baseURL.replace(/\/+$/, "")}/chat/completions`);
  const headers: Record<string, string> = {
    ...opts.defaultHeaders,
    "content-type": "application/json",
    accept: "application/json",
    // Always a value: a keyless local server gets a placeholder.
    authorization: `Bearer ${opts.apiKey || "no-key"}`,
  };
  const streamHeaders = { ...headers, accept: "text/event-stream" };

  const body = (request: ChatRequest, stream: boolean): string => {
    const temperature = request.temperature ?? opts.temperature;
    return JSON.stringify({
      model,
      messages: request.messages.map((m) => ({ role: m.role, content: m.content })),
      ...(request.maxTokens !== undefined ? { max_tokens: request.maxTokens } : {}),
      ...(temperature !== undefined ? { temperature } : {}),
      ...(request.topP !== undefined ? { top_p: request.topP } : {}),
      ...(request.frequencyPenalty !== undefined ? { frequency_penalty: request.frequencyPenalty } : {}),
      ...(request.presencePenalty !== undefined ? { presence_penalty: request.presencePenalty } : {}),
      stream,
      // The final chunk then carries the token usage (budgets count it).
      ...(stream ? { stream_options: { include_usage: true } } : {}),
    });
  };

  const send = (request: ChatRequest, stream: boolean, attempt: Attempt): Promise<Dispatcher.ResponseData> =>
    postForOk(agent(), url, stream ? streamHeaders : headers, body(request, stream), model, attempt);

  return {
    name: model,
    temperature: opts.temperature,
    contextTokens: opts.contextTokens ?? knownContextTokens(model),

    async *stream(request: ChatRequest, signal: AbortSignal): AsyncGenerator<string> {
      const attempt = new Attempt(model, signal, request.timeoutMs);
      let res: Dispatcher.ResponseData;
      try {
        attempt.arm();
        res = await send(request, true, attempt);
      } catch (err) {
        attempt.dispose(true);
        throw err;
      }
      const events: EventSourceMessage[] = [];
      const parser = createParser({ onEvent: (e) => events.push(e) });
      const usage = usageReporter(request);
      let produced = false;
      let finished = false;
      let done = false;
      let drained = false;
      try {
        // Decoded across chunk boundaries (a character may be split between reads).
        const utf8 = new StringDecoder("utf8");
        for await (const bytes of res.body as AsyncIterable<Buffer>) {
          parser.feed(utf8.write(bytes));
          for (const event of events.splice(0)) {
            if (done) continue;
            if (event.data === "[DONE]") {
              done = true;
              continue;
            }
            const chunk = readChunk(model, event.data);
            usage(chunk.usage);
            const choice = chunk.choices?.[0];
            const delta = choice?.delta?.content;
            if (choice?.finish_reason) finished = true;
            if (typeof delta === "string" && delta.length > 0) {
              produced = true;
              // The consumer's own pace (e.g. speech) must not count as the
              // model being silent, so the clock stops while the delta is out.
              attempt.pause();
              yield delta;
              attempt.arm();
            } else if (produced) {
              attempt.arm();
            }
          }
        }
        drained = true;
      } catch (err) {
        throw attempt.toLlmError(err, "body");
      } finally {
        // Ends the HTTP exchange unless the stream was read to its end
        // (the consumer stopped early, or a failure left it open).
        attempt.dispose(!drained);
      }
      attempt.throwIfInterrupted();
      if (!produced) throw new LlmError("bad_response", model, `${model} returned an empty answer`);
      if (!finished) {
        throw new LlmError("bad_response", model, `${model}'s stream ended before the answer was complete`);
      }
    },

    async complete(request: ChatRequest, signal: AbortSignal): Promise<string> {
      const attempt = new Attempt(model, signal, request.timeoutMs);
      let raw: string;
      let ok = false;
      try {
        attempt.arm();
        // A connection that fails before an answer (unavailable) is told
        // from one that breaks off or garbles its body (bad_response).
        const res = await send(request, false, attempt);
        try {
          raw = await res.body.text();
        } catch (err) {
          throw attempt.toLlmError(err, "body");
        }
        ok = true;
      } finally {
        attempt.dispose(!ok);
      }
      attempt.throwIfInterrupted();
      const response = providerJson(model, raw);
      usageReporter(request)((response as { usage?: unknown } | null)?.usage);
      const content = readContent(response);
      if (content === undefined) {
        throw new LlmError("bad_response", model, `${model} returned a response without an answer`);
      }
      if (content.trim() === "") throw new LlmError("bad_response", model, `${model} returned an empty answer`);
      return content;
    },
  };
}

interface Chunk {
  choices?: ChunkChoice[];
  usage?: unknown;
  /** Groq also puts the usage here. */
  x_groq?: { usage?: unknown };
  error?: { message?: unknown; type?: unknown; code?: unknown };
}

/** Calls the request's onUsage once, with the first well-formed OpenAI `usage` object it is given. */
function usageReporter(request: ChatRequest): (usage: unknown) => void {
  let reported = false;
  return (usage) => {
    if (reported || !request.onUsage || !usage || typeof usage !== "object") return;
    const u = usage as { prompt_tokens?: unknown; completion_tokens?: unknown };
    if (typeof u.prompt_tokens !== "number" || typeof u.completion_tokens !== "number") return;
    reported = true;
    request.onUsage({ promptTokens: u.prompt_tokens, completionTokens: u.completion_tokens });
  };
}

/** One SSE event; an `error` object inside the stream means the provider gave up mid-way. */
function readChunk(model: string, data: string): Chunk {
  const chunk = providerJson(model, data) as Chunk;
  if (chunk?.error) {
    const e = chunk.error;
    const rateLimited = /rate.?limit/i.test(`${String(e.type ?? "")} ${String(e.code ?? "")}`);
    const message = typeof e.message === "string" ? e.message : "the stream reported an error";
    throw new LlmError(rateLimited ? "rate_limited" : "unavailable", model, `${model}: ${message}`);
  }
  if (!chunk || typeof chunk !== "object") return {};
  if (chunk.usage === undefined && chunk.x_groq?.usage !== undefined) return { ...chunk, usage: chunk.x_groq.usage };
  return chunk;
}

function readContent(response: unknown): string | undefined {
  if (!response || typeof response !== "object") return undefined;
  const choices = (response as { choices?: unknown }).choices;
  if (!Array.isArray(choices) || choices.length === 0) return undefined;
  const content = (choices[0] as { message?: { content?: unknown } } | undefined)?.message?.content;
  return typeof content === "string" ? content : undefined;
}

/**
 * POSTs `body` and resolves with a 2xx response; any other status throws its
 * LlmError (the provider's message, Retry-After), a refused connection
 * "unavailable".
 */
export async function postForOk(
  dispatcher: Dispatcher,
  url: URL,
  headers: Record<string, string>,
  body: string,
  model: string,
  attempt: Attempt,
): Promise<Dispatcher.ResponseData> {
  let res: Dispatcher.ResponseData;
  try {
    res = await dispatcher.request({ origin: url.origin, path: url.pathname + url.search, method: "POST", headers, body, signal: attempt.signal });
  } catch (err) {
    throw attempt.toLlmError(err, "request");
  }
  if (res.statusCode >= 200 && res.statusCode < 300) return res;
  let detail = "";
  try {
    detail = errorMessage(await res.body.text());
  } catch (err) {
    throw attempt.toLlmError(err, "body");
  }
  throw statusError(model, res.statusCode, detail, () => toHeaders(res.headers));
}

/** A provider's JSON body; anything else is "bad_response". */
export function providerJson(model: string, raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch (err) {
    throw new LlmError("bad_response", model, `${model} sent malformed JSON`, { cause: err });
  }
}

/**
 * The provider's `{"error": {"message": …}}`, else the body itself (cut short).
 * The error's `code`/`type` are kept in front when they name a context
 * overflow, so statusError can tell it from other 400s.
 */
export function errorMessage(text: string): string {
  try {
    const e = (JSON.parse(text) as { error?: { message?: unknown; code?: unknown; type?: unknown } } | null)?.error;
    const tag = [e?.code, e?.type].find((v): v is string => typeof v === "string" && CONTEXT_OVERFLOW.test(v));
    if (typeof e?.message === "string") return tag ? `${tag}: ${e.message}` : e.message;
  } catch {
    // not JSON: show the text
  }
  return text.slice(0, 200);
}

/**
 * How servers say the prompt did not fit: OpenAI `context_length_exceeded`,
 * vLLM "maximum context length is …", llama.cpp `exceed_context_size_error`,
 * llama-cpp-python "exceed context window".
 */
const CONTEXT_OVERFLOW = /context[_ ]length|maximum context|context[_ ]window|exceed_context|context[_ ]size/i;

export function toHeaders(raw: Record<string, string | string[] | undefined>): Headers {
  const h = new Headers();
  for (const [k, v] of Object.entries(raw)) if (v !== undefined) h.set(k, Array.isArray(v) ? v.join(", ") : v);
  return h;
}

/** An HTTP error status as its LlmError kind; `headers` is read only for 429 (Retry-After). */
export function statusError(model: string, status: number, detail: string, headers: () => Headers | undefined, cause?: unknown): LlmError {
  const opts = { status, ...(cause === undefined ? {} : { cause }) };
  const why = detail ? `: ${detail}` : "";
  if (status === 429) {
    const retryAfterMs = parseRetryAfter(headers());
    return new LlmError("rate_limited", model, `${model} is rate limited (429)${why}`, {
      ...opts,
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    });
  }
  if (status === 408) return new LlmError("timeout", model, `${model} timed out (408)`, opts);
  if (status >= 500) return new LlmError("unavailable", model, `${model} is unavailable (${status})${why}`, opts);
  if ((status === 400 || status === 413) && CONTEXT_OVERFLOW.test(detail)) {
    return new LlmError("context_length", model, `${model}: the prompt does not fit its context window (${status})${why}`, opts);
  }
  return new LlmError("client_error", model, `${model} rejected the request (${status})${why}`, opts);
}

/**
 * One call's cancellation: the caller's signal plus a watchdog that fires when
 * the model is silent for `timeoutMs` (before the first token, then between
 * tokens). Keeps which of the two fired, since the SDK reports both alike.
 */
export class Attempt {
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private timedOut = false;
  private readonly onCallerAbort = () => this.controller.abort();

  constructor(
    private readonly model: string,
    private readonly caller: AbortSignal,
    private readonly timeoutMs: number | undefined,
  ) {
    if (caller.aborted) this.controller.abort();
    else caller.addEventListener("abort", this.onCallerAbort, { once: true });
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  arm(): void {
    if (this.timeoutMs === undefined || this.controller.signal.aborted) return;
    if (this.timer) this.timer.refresh();
    else {
      this.timer = setTimeout(() => {
        this.timedOut = true;
        this.controller.abort();
      }, this.timeoutMs);
    }
  }

  pause(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  dispose(endRequest: boolean): void {
    this.pause();
    this.caller.removeEventListener("abort", this.onCallerAbort);
    if (endRequest) this.controller.abort();
  }

  throwIfInterrupted(): void {
    const err = this.interruption();
    if (err) throw err;
  }

  private interruption(): LlmError | undefined {
    if (this.caller.aborted) return new LlmError("aborted", this.model, "the request was cancelled");
    if (this.timedOut) {
      return new LlmError("timeout", this.model, `${this.model} sent nothing for ${this.timeoutMs} ms`);
    }
    return undefined;
  }

  /** `phase` tells a refused connection (request) from a cut stream (body). */
  toLlmError(err: unknown, phase: "request" | "body"): LlmError {
    if (err instanceof LlmError) return err;
    const interrupted = this.interruption();
    if (interrupted) return interrupted;
    const model = this.model;
    const opts = { cause: err };
    if (err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.BodyTimeoutError) {
      return new LlmError("timeout", model, `${model} timed out`, opts);
    }
    if (err instanceof SyntaxError) {
      return new LlmError("bad_response", model, `${model} sent malformed JSON`, opts);
    }
    if (phase === "request") {
      return new LlmError("unavailable", model, `${model} could not be reached: ${String(err)}`, opts);
    }
    // A connection dropped mid-body ("other side closed", "terminated").
    return new LlmError("bad_response", model, `${model}'s stream broke off: ${String(err)}`, opts);
  }
}

/** `retry-after-ms` (OpenAI's extension) wins over `Retry-After` (seconds or an HTTP date). */
export function parseRetryAfter(headers: Headers | undefined, now: number = Date.now()): number | undefined {
  if (!headers) return undefined;
  const ms = headers.get("retry-after-ms");
  if (ms !== null && ms.trim() !== "") {
    const n = Number(ms);
    if (Number.isFinite(n) && n >= 0) return n;
  }
  const value = headers.get("retry-after");
  if (value === null || value.trim() === "") return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return seconds >= 0 ? seconds * 1000 : undefined;
  const date = Date.parse(value);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}
