// The ChatModel port over an in-process GGUF model (node-llama-cpp, prebuilt
// CPU binary, never a compiler). Generation runs on llama.cpp's native
// threads; the event loop only receives text chunks. One context holds a few
// sequences; each request takes one for its whole answer and the rest wait
// in arrival order (a sequence is a slot of KV cache, so more would only
// split the same CPU).
import { open } from "node:fs/promises";
import { basename } from "node:path";
import { getLlama, InsufficientMemoryError, LlamaChat, type ChatHistoryItem, type Llama, type LlamaContext, type LlamaContextSequence, type LlamaModel } from "node-llama-cpp";
import { LlmError, type ChatModel, type ChatRequest } from "@tutor/core";
import { Attempt } from "@tutor/llm";

export const LOCAL_DEFAULTS = {
  /** KV-cache window per sequence when LLM_CONTEXT_TOKENS is unset (capped by what the model was trained with). */
  contextTokens: 8192,
  /** Parallel answers; further requests wait for a free one. */
  sequences: 2,
  temperature: 0.7,
} as const;

export interface LocalModelOptions {
  path: string;
  /** Name stored with each answer (default: the file name without `.gguf`). */
  name?: string;
  /** The window per sequence (default: min(trained, 8192)). */
  contextTokens?: number;
  sequences?: number;
  /** CPU threads for generation (default: the machine's math cores; more than cores makes llama.cpp's threads wait on each other). */
  threads?: number;
  temperature?: number;
}

export interface LocalChatModel extends ChatModel {
  readonly contextTokens: number;
  /** Requests waiting for a free sequence now. */
  readonly waiting: number;
  close(): Promise<void>;
}

let sharedLlama: Promise<Llama> | undefined;
/** One llama.cpp runtime per process (loading the binary twice gains nothing). */
export function llamaRuntime(): Promise<Llama> {
  return (sharedLlama ??= getLlama({ build: "never", gpu: false, progressLogs: false, logLevel: "error" as never }));
}

/** What went wrong loading a model, in words an administrator can act on (throws LocalModelError). */
export class LocalModelError extends Error {
  constructor(
    readonly code: "missing" | "not_gguf" | "corrupt" | "memory" | "download" | "integrity" | "disk_full",
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "LocalModelError";
  }
}

export async function loadLocalModel(opts: LocalModelOptions): Promise<LocalChatModel> {
  const name = opts.name ?? basename(opts.path).replace(/\.gguf$/i, "");
  await checkGgufFile(opts.path);
  const llama = await llamaRuntime();
  let model: LlamaModel;
  try {
    model = await llama.loadModel({ modelPath: opts.path });
  } catch (err) {
    throw describeLoadError(opts.path, err);
  }
  const contextTokens = opts.contextTokens ?? Math.min(model.trainContextSize, LOCAL_DEFAULTS.contextTokens);
  const sequences = opts.sequences ?? LOCAL_DEFAULTS.sequences;
  let context: LlamaContext;
  try {
    context = await model.createContext({
      contextSize: contextTokens,
      sequences,
      threads: opts.threads ?? llama.cpuMathCores,
      failedCreationRemedy: false,
    });
  } catch (err) {
    await model.dispose();
    throw describeLoadError(opts.path, err, contextTokens);
  }
  const free: { seq: LlamaContextSequence; chat: LlamaChat }[] = [];
  for (let i = 0; i < sequences; i++) {
    const seq = context.getSequence();
    free.push({ seq, chat: new LlamaChat({ contextSequence: seq }) });
  }
  const waiters: ((slot: (typeof free)[number]) => void)[] = [];

  const acquire = (signal: AbortSignal): Promise<(typeof free)[number]> => {
    const slot = free.pop();
    if (slot) return Promise.resolve(slot);
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        const i = waiters.indexOf(give);
        if (i >= 0) waiters.splice(i, 1);
        reject(new LlmError("aborted", name, "the request was cancelled while waiting for the local model"));
      };
      const give = (s: (typeof free)[number]) => {
        signal.removeEventListener("abort", onAbort);
        resolve(s);
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener("abort", onAbort, { once: true });
      waiters.push(give);
    });
  };
  const release = (slot: (typeof free)[number]) => {
    const next = waiters.shift();
    if (next) next(slot);
    else free.push(slot);
  };

  async function* generate(request: ChatRequest, signal: AbortSignal): AsyncGenerator<string> {
    const slot = await acquire(signal);
    // The timeout starts once a sequence is ours: waiting for a busy model is
    // not the model being silent (the chain's deadline bounds the wait).
    const attempt = new Attempt(name, signal, request.timeoutMs);
    const chunks: string[] = [];
    let wake: (() => void) | undefined;
    let ended = false;
    let failure: unknown;
    const before = slot.seq.tokenMeter.getState();
    attempt.arm();
    const done = slot.chat
      .generateResponse(toHistory(request), {
        signal: attempt.signal,
        maxTokens: request.maxTokens,
        temperature: request.temperature ?? opts.temperature ?? LOCAL_DEFAULTS.temperature,
        ...(request.topP !== undefined ? { topP: request.topP } : {}),
        repeatPenalty: {
          ...(request.frequencyPenalty !== undefined ? { frequencyPenalty: request.frequencyPenalty } : {}),
          ...(request.presencePenalty !== undefined ? { presencePenalty: request.presencePenalty } : {}),
        },
        onTextChunk: (text) => {
          if (!text) return;
          chunks.push(text);
          wake?.();
        },
      })
      .then(
        () => {},
        (err: unknown) => {
          failure = err;
        },
      )
      .finally(() => {
        ended = true;
        wake?.();
      });
    let produced = false;
    try {
      for (;;) {
        if (chunks.length) {
          const text = chunks.splice(0).join("");
          produced = true;
          attempt.pause();
          yield text;
          attempt.arm();
          continue;
        }
        if (ended) break;
        await new Promise<void>((r) => (wake = r));
        wake = undefined;
      }
    } finally {
      // A consumer that stops early (or a failure) ends the generation at once.
      attempt.dispose(!ended);
      await done;
      const after = slot.seq.tokenMeter.getState();
      request.onUsage?.({
        promptTokens: after.usedInputTokens - before.usedInputTokens,
        completionTokens: after.usedOutputTokens - before.usedOutputTokens,
      });
      release(slot);
    }
    attempt.throwIfInterrupted();
    if (failure) throw new LlmError("bad_response", name, `${name} failed while generating: ${String(failure)}`, { cause: failure });
    if (!produced) throw new LlmError("bad_response", name, `${name} returned an empty answer`);
  }

  return {
    name,
    temperature: opts.temperature,
    contextTokens: context.contextSize,
    get waiting() {
      return waiters.length;
    },
    stream: generate,
    async complete(request, signal) {
      let text = "";
      for await (const part of generate(request, signal)) text += part;
      return text;
    },
    async close() {
      await context.dispose();
      await model.dispose();
    },
  };
}

/** The port's messages as node-llama-cpp's chat history, ending with the model's turn to speak. */
function toHistory(request: ChatRequest): ChatHistoryItem[] {
  const items: ChatHistoryItem[] = request.messages.map((m) =>
    m.role === "system" ? { type: "system", text: m.content } : m.role === "user" ? { type: "user", text: m.content } : { type: "model", response: [m.content] },
  );
  items.push({ type: "model", response: [] });
  return items;
}

/** Missing and not-GGUF files are told apart before llama.cpp sees them (its messages are vaguer). */
export async function checkGgufFile(path: string): Promise<void> {
  let file;
  try {
    file = await open(path, "r");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") throw new LocalModelError("missing", `the model file ${path} does not exist`, { cause: err });
    throw new LocalModelError("missing", `the model file ${path} cannot be read: ${String(err)}`, { cause: err });
  }
  try {
    const { bytesRead, buffer } = await file.read(Buffer.alloc(4), 0, 4, 0);
    if (bytesRead < 4 || buffer.toString("latin1") !== "GGUF") throw new LocalModelError("not_gguf", `${path} is not a GGUF model file`);
  } finally {
    await file.close();
  }
}

function describeLoadError(path: string, err: unknown, contextTokens?: number): LocalModelError {
  const text = String((err as Error)?.message ?? err);
  if ((err as NodeJS.ErrnoException)?.code === "ENOENT" || /no such file|does not exist|ENOENT/i.test(text)) {
    return new LocalModelError("missing", `the model file ${path} does not exist`, { cause: err });
  }
  if (err instanceof InsufficientMemoryError || /memory|alloc/i.test(text)) {
    const what = contextTokens ? `the model with a ${contextTokens}-token context` : "the model";
    return new LocalModelError("memory", `not enough memory to load ${what} from ${path} (${text}); try a smaller LLM_CONTEXT_TOKENS or model`, { cause: err });
  }
  return new LocalModelError("corrupt", `${path} could not be loaded as a GGUF model (damaged or unsupported): ${text}`, { cause: err });
}
