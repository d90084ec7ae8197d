// The SpeechToText port over any OpenAI-compatible `/audio/transcriptions`
// endpoint (Groq's whisper-large-v3-turbo, a local faster-whisper/speaches
// server, OpenAI). One call = one attempt with its own timeout; retrying
// belongs to the core (RetryingSpeechToText), so the SDK's retries are off.
// Failures are the same LlmError kinds as the chat adapter's.
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError, toFile } from "openai";
import { LlmError, type SpeechToText, type TranscribeOptions } from "@tutor/core";
import { Attempt, providerJson, statusError } from "./openai-chat.js";

export interface OpenAITranscriberOptions {
  baseURL: string;
  /** Local servers usually need none; a placeholder is sent then. */
  apiKey?: string;
  model: string;
  /** Per attempt when the caller gives no `timeoutMs`. */
  timeoutMs?: number;
}

export function createOpenAITranscriber(opts: OpenAITranscriberOptions): SpeechToText {
  const client = new OpenAI({
    baseURL: opts.baseURL,
    // An explicit value, or the SDK would read OPENAI_API_KEY (configuration is read once, at start).
    apiKey: opts.apiKey || "no-key",
    maxRetries: 0,
    logLevel: "off",
  });
  const model = opts.model;

  return {
    model,
    async transcribe(wav: Uint8Array, o: TranscribeOptions): Promise<string> {
      const attempt = new Attempt(model, o.signal, o.timeoutMs ?? opts.timeoutMs);
      let raw: string;
      let ok = false;
      try {
        attempt.arm();
        const file = await toFile(wav, "utterance.wav", { type: "audio/wav" });
        let res: Response;
        try {
          res = await client.audio.transcriptions
            .create(
              { file, model, response_format: "json", ...(o.prompt ? { prompt: o.prompt } : {}) },
              { signal: attempt.signal },
            )
            .asResponse();
        } catch (err) {
          throw sdkError(attempt, model, err, "request");
        }
        try {
          raw = await res.text();
        } catch (err) {
          throw sdkError(attempt, model, err, "body");
        }
        ok = true;
      } finally {
        attempt.dispose(!ok);
      }
      attempt.throwIfInterrupted();
      const body = providerJson(model, raw);
      const text = (body as { text?: unknown } | null)?.text;
      if (typeof text !== "string") throw new LlmError("bad_response", model, `${model} returned no transcription text`);
      return text.trim();
    },
  };
}

/** The SDK's error classes as LlmError kinds (the chat adapter's mapping for status codes). */
function sdkError(attempt: Attempt, model: string, err: unknown, phase: "request" | "body"): LlmError {
  const general = attempt.toLlmError(err, phase);
  // A cancel or our own timeout wins over however the SDK reported it.
  if (general.kind === "aborted" || general.kind === "timeout" || !(err instanceof Error)) return general;
  const opts = { cause: err };
  if (err instanceof APIUserAbortError) return new LlmError("aborted", model, "the request was cancelled", opts);
  if (err instanceof APIConnectionTimeoutError) return new LlmError("timeout", model, `${model} timed out`, opts);
  if (err instanceof APIConnectionError) return new LlmError("unavailable", model, `${model} could not be reached: ${err.message}`, opts);
  if (err instanceof APIError && err.status !== undefined) {
    const detail = (err.error as { message?: unknown } | undefined)?.message;
    return statusError(model, err.status, typeof detail === "string" ? detail : err.message, () => err.headers, err);
  }
  return general;
}
