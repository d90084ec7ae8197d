// LOCAL_MODEL=auto against a fake hub on loopback serving the test kit's tiny
// GGUF: progress, a download cut halfway and resumed, a checksum that does not
// match, a disk too small, and a path that is missing.
import { createHash } from "node:crypto";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { LlmError } from "@tutor/core";
import { startFakeHub, tinyGguf, type FakeHub } from "@tutor/testkit";
import { LocalModelManager, type HubModel } from "./manager.js";

const bytes = tinyGguf({ embedding: 128 }); // ~1.6 MB: many writes, so progress shows
const MODEL: HubModel = { repo: "test/Tiny-GGUF", file: "tiny-q8.gguf", revision: "main", approxBytes: bytes.length, licence: "MIT" };
let hub: FakeHub;
let dir: string;
let manager: LocalModelManager | undefined;

beforeAll(async () => {
  hub = await startFakeHub();
  hub.add(MODEL.repo, MODEL.file, bytes);
});
afterAll(async () => {
  await hub.close();
});
afterEach(async () => {
  await manager?.close();
  manager = undefined;
  hub.requests.length = 0;
  hub.throttleMs = 0;
  hub.lieAboutChecksum(undefined);
  await rm(dir, { recursive: true, force: true });
});

async function auto(model: HubModel = MODEL) {
  dir = await mkdtemp(join(tmpdir(), "models-"));
  manager = new LocalModelManager({ source: { kind: "auto", dir, model, endpoint: hub.url }, threads: 1, contextTokens: 512, downloadAttempts: 3 });
  return manager;
}
const ask = { messages: [{ role: "user" as const, content: "What is a stack?" }], maxTokens: 8 };

describe("LOCAL_MODEL=auto", () => {
  it("reports progress while downloading, answers 'getting ready' meanwhile, then checks, loads and answers", async () => {
    const m = await auto();
    hub.throttleMs = 15;
    const seen = new Set<string>();
    const ready = m.start();
    let notReady: unknown;
    while (m.status().state !== "ready" && m.status().state !== "failed") {
      const msg = m.message();
      if (msg) seen.add(msg);
      if (m.status().state === "downloading" && !notReady) notReady = await m.model.complete(ask, new AbortController().signal).catch((e: unknown) => e);
      await new Promise((r) => setTimeout(r, 5));
    }
    await ready;
    expect(m.status()).toEqual({ state: "ready" });
    expect([...seen].some((s) => /^Preparing the tutor's model: [1-9]\d?%$/.test(s))).toBe(true);
    expect(notReady).toBeInstanceOf(LlmError);
    expect(notReady).toMatchObject({ kind: "not_ready", message: expect.stringMatching(/^The tutor is getting ready: downloading its model \(\d+%\)/) });
    expect((await m.model.complete(ask, new AbortController().signal)).length).toBeGreaterThan(0);
    expect(m.model.contextTokens).toBe(512);
  });

  it("resumes a download cut partway from where it stopped", async () => {
    // Bigger than the downloader's 5 MB chunks, so a cut after the first one can resume past it.
    const big = tinyGguf({ embedding: 384 });
    const model = { ...MODEL, repo: "test/Bigger-GGUF", file: "bigger.gguf" };
    hub.add(model.repo, model.file, big);
    const m = await auto(model);
    hub.cutNext(Math.floor(big.length * 0.7));
    await m.start();
    expect(m.status()).toEqual({ state: "ready" });
    const ranged = hub.requests.filter((r) => r.method === "GET" && r.range);
    expect(ranged.length).toBeGreaterThanOrEqual(2);
    // After the cut, the downloader asked only for what it did not have.
    expect(ranged.slice(1).some((r) => Number(/^bytes=(\d+)-/.exec(r.range!)?.[1]) >= 5 * 1024 * 1024)).toBe(true);
  });

  it("refuses a file that does not match the published sha256 and says so, keeping it out of use", async () => {
    const m = await auto();
    hub.lieAboutChecksum(createHash("sha256").update("something else").digest("hex"));
    await m.start();
    expect(m.status()).toMatchObject({ state: "failed", code: "integrity" });
    expect(m.message()).toMatch(/does not match its published sha256/);
    await expect(m.model.complete(ask, new AbortController().signal)).rejects.toMatchObject({
      kind: "not_ready",
      message: expect.stringMatching(/^The tutor's local model could not be started: .*sha256/),
    });
    expect(await readdir(dir)).not.toContain(MODEL.file);
  });

  it("says the disk is too small before downloading anything", async () => {
    dir = await mkdtemp(join(tmpdir(), "models-"));
    const big = await startHugeHead();
    try {
      manager = new LocalModelManager({ source: { kind: "auto", dir, model: MODEL, endpoint: big.url } });
      await manager.start();
      expect(manager.status()).toMatchObject({ state: "failed", code: "disk_full", message: expect.stringMatching(/not enough disk space/) });
      expect(big.gets).toBe(0);
    } finally {
      await big.close();
    }
  });

  it("a hub that cannot be reached fails clearly", async () => {
    const m = await auto({ ...MODEL, file: "absent.gguf" });
    await m.start();
    expect(m.status()).toMatchObject({ state: "failed", code: "download", message: expect.stringMatching(/answered 404/) });
  });
});

describe("LOCAL_MODEL=<path>", () => {
  it("a missing file is reported as that; nothing is downloaded", async () => {
    dir = await mkdtemp(join(tmpdir(), "models-"));
    manager = new LocalModelManager({ source: { kind: "path", path: join(dir, "mine.gguf") } });
    await manager.start();
    expect(manager.status()).toMatchObject({ state: "failed", code: "missing" });
    expect(manager.message()).toMatch(/mine\.gguf does not exist/);
    expect(manager.model.name).toBe("mine");
  });
});

/** A hub whose HEAD announces a 50 PB file (no real disk has room) and counts GETs. */
async function startHugeHead() {
  const { createServer } = await import("node:http");
  let gets = 0;
  const sha = createHash("sha256").update(bytes).digest("hex");
  const server = createServer((req, res) => {
    if (req.method === "GET") gets++;
    res.writeHead(200, { "x-linked-etag": `"${sha}"`, "x-linked-size": String(5e16), "content-length": "0" }).end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/`,
    get gets() {
      return gets;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
