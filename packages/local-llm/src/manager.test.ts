// LOCAL_MODEL=auto against a fake hub on loopback serving the test kit's tiny
// GGUF: progress, a download cut halfway and resumed, a checksum that does not
// match, a disk too small, and a path that is missing.
import { createHash } from "node:crypto";
import { spawnSync } from "node:child_process";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
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

  it("a pinned sha256 wins over the hub's: a mirror serving another file with a matching checksum header is refused", async () => {
    const other = tinyGguf({ embedding: 64 });
    const model = { ...MODEL, repo: "test/Swapped-GGUF", sha256: createHash("sha256").update(bytes).digest("hex") };
    hub.add(model.repo, model.file, other); // the hub's own x-linked-etag is the swapped file's, so only the pin can tell
    const m = await auto(model);
    await m.start();
    expect(m.status()).toMatchObject({ state: "failed", code: "integrity" });
    expect(m.message()).toContain(model.sha256);
    expect(await readdir(dir)).not.toContain(model.file);
    // The same pin with the right file is accepted.
    const right = { ...model, repo: "test/Right-GGUF" };
    hub.add(right.repo, right.file, bytes);
    await m.close();
    manager = new LocalModelManager({ source: { kind: "auto", dir, model: right, endpoint: hub.url }, threads: 1, contextTokens: 512 });
    await manager.start();
    expect(manager.status()).toEqual({ state: "ready" });
  });

  it("a pinned size the hub does not announce is refused before downloading", async () => {
    const m = await auto({ ...MODEL, bytes: bytes.length + 1 });
    await m.start();
    expect(m.status()).toMatchObject({ state: "failed", code: "integrity" });
    expect(m.message()).toMatch(/not the pinned/);
    expect(hub.requests.filter((r) => r.method === "GET")).toHaveLength(0);
  });

  it("processes sharing DATA_DIR download once: the others wait, show the downloader's progress, then load the file", async () => {
    const m = await auto();
    const others = [1, 2].map(
      () => new LocalModelManager({ source: { kind: "auto", dir, model: MODEL, endpoint: hub.url }, threads: 1, contextTokens: 512, lockPollMs: 10 }),
    );
    hub.throttleMs = 15;
    const seen = new Set<string>();
    try {
      const ready = [m.start(), ...others.map((o) => o.start())];
      let done = false;
      void Promise.all(ready).then(() => (done = true));
      while (!done) {
        for (const o of others) if (o.status().state === "downloading") seen.add(o.message()!);
        await new Promise((r) => setTimeout(r, 5));
      }
      for (const x of [m, ...others]) expect(x.status()).toEqual({ state: "ready" });
      // One process asked the hub; the file was fetched once.
      expect(hub.requests.filter((r) => r.method === "HEAD")).toHaveLength(1);
      expect(hub.requests.filter((r) => r.method === "GET" && r.range)).toHaveLength(1);
      // The waiting processes showed the downloader's progress, not a frozen 0 %.
      expect([...seen].some((t) => /^Preparing the tutor's model: [1-9]\d?%$/.test(t))).toBe(true);
      expect((await others[1]!.model.complete(ask, new AbortController().signal)).length).toBeGreaterThan(0);
      expect((await readdir(dir)).filter((f) => f.endsWith(".lock"))).toEqual([]);
    } finally {
      for (const o of others) await o.close();
    }
  });

  it("takes over a download whose process died (its lock left behind)", async () => {
    const m = await auto();
    const dead = spawnSync(process.execPath, ["-e", ""]).pid;
    await writeFile(join(dir, `${MODEL.file}.download.lock`), JSON.stringify({ pid: dead, host: hostname(), progress: 0.4 }));
    await m.start();
    expect(m.status()).toEqual({ state: "ready" });
    expect(hub.requests.filter((r) => r.method === "HEAD")).toHaveLength(1);
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
