// The ChatModel port over any OpenAI-compatible server (Groq, vLLM, llama.cpp
// server, Ollama, OpenAI). One call = one attempt: retrying and falling back
// belong to the core's ModelChain, so the SDK's own retries are off.
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from "openai";
import type { ChatCompletionChunk, ChatCompletionCreateParamsBase } from "openai/resources/chat/completions";
import { LlmError, type ChatModel, type ChatRequest } from "@tutor/core";

export interface OpenAIChatModelOptions {
  baseURL: string;
  /** Local servers usually need none; a placeholder is sent then. */
  apiKey?: string;
  model: string;
  /** Used when a request gives no temperature (from `LLM_MODELS` `name:temperature`). */
  temperature?: number;
  defaultHeaders?: Record<string, string>;
}

export function createOpenAIChatModel(opts: OpenAIChatModelOptions): ChatModel {
  const client = new OpenAI({
    baseURL: opts.baseURL,
    // The SDK falls back to OPENAI_API_KEY when this is undefined; configuration
    // is read once at start, so an explicit value always goes in.
    apiKey: opts.apiKey ?? "no-key",
    maxRetries: 0,
    logLevel: "off",
    ...(opts.defaultHeaders ? { defaultHeaders: opts.defaultHeaders } : {}),
  });
  const model = opts.model;

  const body = (request: ChatRequest): ChatCompletionCreateParamsBase => {
    const temperature = request.temperature ?? opts.temperature;
    return {
      model,
      messages: request.messages.map((m) => ({ role: m.role, content: m.content })),
      ...(request.maxTokens !== undefined ? { max_tokens: request.maxTokens } : {}),
      ...(temperature !== undefined ? { temperature } : {}),
      ...(request.topP !== undefined ? { top_p: request.topP } : {}),
      ...(request.frequencyPenalty !== undefined ? { frequency_penalty: request.frequencyPenalty } : {}),
      ...(request.presencePenalty !== undefined ? { presence_penalty: request.presencePenalty } : {}),
    };
  };

  return {
    name: model,
    temperature: opts.temperature,

    async *stream(request: ChatRequest, signal: AbortSignal): AsyncGenerator<string> {
      const attempt = new Attempt(model, signal, request.timeoutMs);
      let stream: AsyncIterable<ChatCompletionChunk>;
      try {
        attempt.arm();
        stream = await client.chat.completions.create(
          { ...body(request), stream: true },
          { signal: attempt.signal },
        );
      } catch (err) {
        attempt.dispose(true);
        throw attempt.toLlmError(err, "request");
      }
      let produced = false;
      let finished = false;
      let drained = false;
      try {
        for await (const chunk of stream) {
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
        drained = true;
      } catch (err) {
        throw attempt.toLlmError(err, "body");
      } finally {
        // Ends the HTTP exchange unless the stream was read to its end
        // (the consumer stopped early, or a failure left it open).
        attempt.dispose(!drained);
      }
      // The SDK ends the iteration quietly when its signal fires, so a timeout
      // or an abort has to be recognised here, not only in the catch.
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
        // The raw response (status errors are still thrown by the SDK) so a
        // connection that fails before an answer (unavailable) can be told
        // from one that breaks off or garbles its body (bad_response).
        let res: Response;
        try {
          res = await client.chat.completions
            .create({ ...body(request), stream: false }, { signal: attempt.signal })
            .asResponse();
        } catch (err) {
          throw attempt.toLlmError(err, "request");
        }
        try {
          raw = await res.text();
        } catch (err) {
          throw attempt.toLlmError(err, "body");
        }
        ok = true;
      } finally {
        attempt.dispose(!ok);
      }
      attempt.throwIfInterrupted();
      let response: unknown;
      try {
        response = JSON.parse(raw);
      } catch (err) {
        throw new LlmError("bad_response", model, `${model} sent malformed JSON`, { cause: err });
      }
      const content = readContent(response);
      if (content === undefined) {
        throw new LlmError("bad_response", model, `${model} returned a response without an answer`);
      }
      if (content.trim() === "") throw new LlmError("bad_response", model, `${model} returned an empty answer`);
      return content;
    },
  };
}

function readContent(response: unknown): string | undefined {
  if (!response || typeof response !== "object") return undefined;
  const choices = (response as { choices?: unknown }).choices;
  if (!Array.isArray(choices) || choices.length === 0) return undefined;
  const content = (choices[0] as { message?: { content?: unknown } } | undefined)?.message?.content;
  return typeof content === "string" ? content : undefined;
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
    if (err instanceof APIUserAbortError) return new LlmError("aborted", model, "the request was cancelled", opts);
    if (err instanceof APIConnectionTimeoutError) return new LlmError("timeout", model, `${model} timed out`, opts);
    if (err instanceof APIConnectionError) {
      return new LlmError("unavailable", model, `${model} could not be reached: ${err.message}`, opts);
    }
    if (err instanceof APIError) {
      const status = err.status;
      if (status === undefined) {
        // An error object inside an otherwise fine SSE stream: the provider gave up mid-way.
        const rateLimited = /rate.?limit/i.test(`${err.type ?? ""} ${err.code ?? ""}`);
        return new LlmError(rateLimited ? "rate_limited" : "unavailable", model, `${model}: ${err.message}`, opts);
      }
      if (status === 429) {
        const retryAfterMs = parseRetryAfter(err.headers);
        return new LlmError("rate_limited", model, `${model} is rate limited (429)`, {
          ...opts,
          status,
          ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
        });
      }
      if (status === 408) return new LlmError("timeout", model, `${model} timed out (408)`, { ...opts, status });
      if (status >= 500) {
        return new LlmError("unavailable", model, `${model} is unavailable (${status})`, { ...opts, status });
      }
      return new LlmError("client_error", model, `${model} rejected the request: ${err.message}`, { ...opts, status });
    }
    if (err instanceof SyntaxError) {
      return new LlmError("bad_response", model, `${model} sent malformed JSON`, opts);
    }
    if (phase === "request") {
      return new LlmError("unavailable", model, `${model} could not be reached: ${String(err)}`, opts);
    }
    // undici reports a dropped connection mid-body as "terminated".
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
