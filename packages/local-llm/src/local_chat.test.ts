// The in-process adapter on a real node-llama-cpp runtime with the test kit's
// tiny random-weight GGUF: streaming, cancel, timeouts, queueing, usage, bad files.
import { mkdtemp, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LlmError} from "@tutor/core";
import { type ChatRequest } from "@tutor/core";
import { writeTinyGguf } from "@tutor/testkit";
import { loadLocalModel, type LocalChatModel } from "./local-chat.js";

let dir: string;
let path: string;
let model: LocalChatModel;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "local-llm-"));
  path = join(dir, "tiny.gguf");
  await writeTinyGguf(path, { trainContextTokens: 4096 });
  model = await loadLocalModel({ path, contextTokens: 1024, sequences: 2, threads: 1 });
});
afterAll(async () => {
  await model?.close();
  await rm(dir, { recursive: true, force: true });
});

const ask = (extra: Partial<ChatRequest> = {}): ChatRequest => ({
  messages: [
    { role: "system", content: "You are a tutor." },
    { role: "user", content: "What is a linked list?" },
  ],
  maxTokens: 40,
  ...extra,
});

async function drain(iter: AsyncIterable<string>, stopAfter = Infinity) {
  const deltas: string[] = [];
  try {
    for await (const d of iter) {
      deltas.push(d);
      if (deltas.length >= stopAfter) break;
    }
    return { deltas };
  } catch (err) {
    return { deltas, error: err as LlmError };
  }
}

describe("the local model adapter", () => {
  it("names itself after the file and reports its context window", () => {
    expect(model.name).toBe("tiny");
    expect(model.contextTokens).toBe(1024);
  });

  it("streams an answer in several pieces, up to max tokens, and reports the tokens it used", async () => {
    let usage: { promptTokens: number; completionTokens: number } | undefined;
    const { deltas, error } = await drain(model.stream(ask({ maxTokens: 30, onUsage: (u) => (usage = u) }), new AbortController().signal));
    expect(error).toBeUndefined();
    expect(deltas.length).toBeGreaterThan(3);
    expect(deltas.join("").length).toBeGreaterThan(10);
    expect(usage!.completionTokens).toBeGreaterThanOrEqual(29);
    expect(usage!.completionTokens).toBeLessThanOrEqual(31);
    expect(usage!.promptTokens).toBeGreaterThan(10);
  });

  it("passes the temperature on: 0 gives the same answer twice, a high one another answer", async () => {
    const at = (temperature: number) => model.complete(ask({ temperature, maxTokens: 20 }), new AbortController().signal);
    const cold = await at(0);
    expect(await at(0)).toBe(cold);
    expect(await at(2)).not.toBe(cold);
  });

  it("stops at once when the signal aborts and throws aborted", async () => {
    const ctl = new AbortController();
    const pieces: string[] = [];
    let error: unknown;
    try {
      for await (const d of model.stream(ask({ maxTokens: 2000 }), ctl.signal)) {
        pieces.push(d);
        if (pieces.length === 3) ctl.abort();
      }
    } catch (err) {
      error = err;
    }
    expect(error).toMatchObject({ kind: "aborted" });
    expect(pieces.length).toBeLessThan(50);
    // The sequence is free again: the next request answers.
    expect((await drain(model.stream(ask({ maxTokens: 5 }), new AbortController().signal))).error).toBeUndefined();
  });

  it("a consumer that stops reading ends the generation and frees the sequence", async () => {
    for (let i = 0; i < 4; i++) expect((await drain(model.stream(ask({ maxTokens: 2000 }), new AbortController().signal), 2)).deltas).toHaveLength(2);
    expect((await drain(model.stream(ask({ maxTokens: 5 }), new AbortController().signal))).error).toBeUndefined();
  });

  it("a third request waits for a free sequence, and a waiting request can be cancelled", async () => {
    const ctls = [new AbortController(), new AbortController()];
    const running = ctls.map((c) => drain(model.stream(ask({ maxTokens: 100_000 }), c.signal)));
    await new Promise((r) => setTimeout(r, 50));
    const queuedCtl = new AbortController();
    const queued = drain(model.stream(ask({ maxTokens: 5 }), queuedCtl.signal));
    const third = drain(model.stream(ask({ maxTokens: 5 }), new AbortController().signal));
    await new Promise((r) => setTimeout(r, 50));
    expect(model.waiting).toBe(2);
    queuedCtl.abort();
    expect((await queued).error).toMatchObject({ kind: "aborted" });
    expect(model.waiting).toBe(1);
    ctls[0]!.abort();
    const r = await third;
    expect(r.error).toBeUndefined();
    expect(r.deltas.length).toBeGreaterThan(0);
    ctls[1]!.abort();
    await Promise.all(running);
  });
});

describe("bad model files", () => {
  it("a missing file, a file that is not GGUF and a cut-off GGUF each get their own clear error", async () => {
    await expect(loadLocalModel({ path: join(dir, "nope.gguf") })).rejects.toMatchObject({ code: "missing", message: expect.stringMatching(/does not exist/) });
    const text = join(dir, "notes.gguf");
    await writeFile(text, "these are my notes, not a model");
    await expect(loadLocalModel({ path: text })).rejects.toMatchObject({ code: "not_gguf", message: expect.stringMatching(/is not a GGUF model file/) });
    const cut = join(dir, "cut.gguf");
    await writeTinyGguf(cut);
    await truncate(cut, 20_000);
    await expect(loadLocalModel({ path: cut, threads: 1 })).rejects.toMatchObject({ code: "corrupt", message: expect.stringMatching(/could not be loaded as a GGUF model/) });
  });

  it("a context too large for this machine's memory is refused as not enough memory", async () => {
    // node-llama-cpp's own estimate refuses it (it takes it ~30 s to decide on this machine).
    await expect(loadLocalModel({ path, contextTokens: 100_000_000, threads: 1 })).rejects.toMatchObject({ code: "memory", message: expect.stringMatching(/not enough memory/) });
  }, 90_000);
});
