// The in-process model's life: find or download the file (LOCAL_MODEL=auto),
// check it, load it, and meanwhile stand in the model chain as a ChatModel
// that answers `not_ready` with a message for the student ("getting ready:
// downloading its model (43%)"). A failure at any step is kept as a status
// naming the problem; the server keeps running and the rest of the chain works.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, open, readFile, rename, rm, stat, statfs, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { basename, join } from "node:path";
import { createModelDownloader } from "node-llama-cpp";
import { LlmError, silentLogger, type ChatModel, type ChatRequest, type Logger } from "@tutor/core";
import { FIXED_ANSWERS } from "@tutor/protocol";
import { LOCAL_DEFAULTS, LocalModelError, loadLocalModel, type LocalChatModel } from "./local-chat.js";

/** A GGUF file on a Hugging Face-style hub. */
export interface HubModel {
  repo: string;
  file: string;
  revision: string;
  /** For the start-up log before the hub has said (the hub's own size wins). */
  approxBytes: number;
  /** Pinned checksum; unset: the hub's published sha256 of the file (`x-linked-etag`). A pin wins over anything a hub, mirror or cache says. */
  sha256?: string | undefined;
  /** Pinned size in bytes: a hub announcing another size is refused before anything is downloaded. */
  bytes?: number | undefined;
  licence: string;
}

/**
 * The default for LOCAL_MODEL=auto: Qwen2.5-Coder-1.5B-Instruct at Q4_K_M
 * (see README.md for why: Apache-2.0, trained for code, ~1.1 GB, a 32k window).
 */
export const DEFAULT_HUB_MODEL: HubModel = {
  repo: "Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF",
  file: "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
  revision: "main",
  approxBytes: 1_120_000_000,
  licence: "Apache-2.0",
};
export const DEFAULT_HUB_ENDPOINT = "https://huggingface.co/";

export type LocalModelStatus =
  | { state: "downloading"; progress: number; downloadedBytes: number; totalBytes: number }
  | { state: "loading" }
  | { state: "ready" }
  | { state: "failed"; code: LocalModelError["code"]; message: string };

export type LocalModelSource = { kind: "path"; path: string } | { kind: "auto"; dir: string; model?: HubModel; endpoint?: string };

export interface LocalModelManagerOptions {
  source: LocalModelSource;
  contextTokens?: number | undefined;
  sequences?: number | undefined;
  threads?: number | undefined;
  logger?: Logger;
  /** Download attempts before giving up (each resumes where the last stopped). */
  downloadAttempts?: number;
  /** How often a process waiting for another's download looks at the lock (ms). */
  lockPollMs?: number;
  /** A download lock not refreshed for this long belongs to a process that is gone (ms). */
  staleLockMs?: number;
}

const LOCK_HEARTBEAT_MS = 5_000;
const LOCK_POLL_MS = 1_000;
const LOCK_STALE_MS = 60_000;

export class LocalModelManager {
  readonly model: ChatModel;
  readonly #opts: LocalModelManagerOptions;
  readonly #log: Logger;
  #status: LocalModelStatus = { state: "loading" };
  #loaded: LocalChatModel | undefined;
  #ready: Promise<void> | undefined;
  readonly #stop = new AbortController();
  /** While this process holds the download lock: writes our progress into it for the waiting processes. */
  #beat: (() => Promise<void>) | undefined;

  constructor(opts: LocalModelManagerOptions) {
    this.#opts = opts;
    this.#log = (opts.logger ?? silentLogger).child({ component: "local_model" });
    const name = opts.source.kind === "path" ? basename(opts.source.path).replace(/\.gguf$/i, "") : (opts.source.model ?? DEFAULT_HUB_MODEL).file.replace(/\.gguf$/i, "");
    const loaded = () => this.#loaded;
    const require = (n: string) => this.#require(n);
    this.model = {
      name,
      get contextTokens() {
        return loaded()?.contextTokens ?? opts.contextTokens;
      },
      stream(request: ChatRequest, signal: AbortSignal) {
        return require(name).stream(request, signal);
      },
      complete(request: ChatRequest, signal: AbortSignal) {
        try {
          return require(name).complete(request, signal);
        } catch (err) {
          return Promise.reject(err);
        }
      },
    };
  }

  status(): LocalModelStatus {
    return this.#status;
  }

  /** For /api/config and the student: what the tutor is doing, or what is wrong. */
  message(): string | undefined {
    const s = this.#status;
    switch (s.state) {
      case "downloading":
        return `Preparing the tutor's model: ${Math.floor(s.progress * 100)}%`;
      case "loading":
        return "Preparing the tutor's model: loading it";
      case "failed":
        return `The tutor's local model could not be started: ${s.message}`;
      case "ready":
        return undefined;
    }
  }

  /** Starts in the background; resolves when the model is ready or has failed (never rejects). */
  start(): Promise<void> {
    return (this.#ready ??= this.#run().catch((err: unknown) => {
      const e = err instanceof LocalModelError ? err : new LocalModelError("corrupt", String((err as Error)?.message ?? err), { cause: err });
      if (this.#stop.signal.aborted) return;
      this.#status = { state: "failed", code: e.code, message: e.message };
      this.#log.error({ event: "local_model_failed", code: e.code, err: e.message }, `local model: ${e.message}`);
    }));
  }

  async close(): Promise<void> {
    this.#stop.abort();
    await this.#ready;
    await this.#loaded?.close();
    this.#loaded = undefined;
  }

  #require(name: string): ChatModel {
    if (this.#loaded) return this.#loaded;
    const s = this.#status;
    const text =
      s.state === "failed"
        ? `${FIXED_ANSWERS.localModelFailedPrefix}${s.message}. An administrator can find the details in the server log.`
        : s.state === "downloading"
          ? `${FIXED_ANSWERS.preparingPrefix}downloading its model (${Math.floor(s.progress * 100)}%). Please try again in a few minutes.`
          : `${FIXED_ANSWERS.preparingPrefix}loading its model. Please try again in a moment.`;
    throw new LlmError("not_ready", name, text);
  }

  async #run(): Promise<void> {
    const src = this.#opts.source;
    const path = src.kind === "path" ? src.path : await this.#download(src);
    this.#status = { state: "loading" };
    const t0 = Date.now();
    const loaded = await loadLocalModel({
      path,
      name: this.model.name,
      ...(this.#opts.contextTokens ? { contextTokens: this.#opts.contextTokens } : {}),
      ...(this.#opts.sequences ? { sequences: this.#opts.sequences } : {}),
      ...(this.#opts.threads ? { threads: this.#opts.threads } : {}),
    });
    if (this.#stop.signal.aborted) {
      await loaded.close();
      return;
    }
    this.#loaded = loaded;
    this.#status = { state: "ready" };
    this.#log.info(
      { event: "local_model_ready", path, context_tokens: loaded.contextTokens, sequences: this.#opts.sequences ?? LOCAL_DEFAULTS.sequences, ms: Date.now() - t0 },
      `local model ${this.model.name} ready (${loaded.contextTokens}-token context)`,
    );
  }

  /**
   * One download per DATA_DIR: every process that starts with LOCAL_MODEL=auto
   * (the server, each LiveKit agent job) runs this, but only the one holding
   * `<file>.download.lock` downloads; the others show its progress (it writes it
   * into the lock) and load the file once it is checked. A lock whose process is
   * gone (same host, dead pid) or that has not been refreshed for
   * `staleLockMs` is taken over, so a killed downloader does not block forever.
   */
  async #download(src: Extract<LocalModelSource, { kind: "auto" }>): Promise<string> {
    const hub = src.model ?? DEFAULT_HUB_MODEL;
    const path = join(src.dir, hub.file);
    const lockPath = `${path}.download.lock`;
    await mkdir(src.dir, { recursive: true });
    let toldWaiting = false;
    for (;;) {
      if (await this.#checked(path, hub)) return path;
      const lock = await open(lockPath, "wx").catch((err: NodeJS.ErrnoException) => {
        if (err.code === "EEXIST") return undefined;
        throw err;
      });
      if (lock) {
        const beat = () => {
          const s = this.#status;
          const body = { pid: process.pid, host: hostname(), ...(s.state === "downloading" ? s : {}) };
          return writeFile(lockPath, JSON.stringify(body)).catch(() => {});
        };
        await lock.close();
        await beat();
        this.#beat = beat;
        const heartbeat = setInterval(() => void beat(), LOCK_HEARTBEAT_MS);
        heartbeat.unref();
        try {
          // Another process may have finished between our check and the lock.
          if (await this.#checked(path, hub)) return path;
          return await this.#fetch(src, hub, path);
        } finally {
          clearInterval(heartbeat);
          this.#beat = undefined;
          await rm(lockPath, { force: true });
        }
      }
      if (!toldWaiting) {
        toldWaiting = true;
        this.#log.info({ event: "local_model_wait", file: hub.file, dir: src.dir }, `another process is downloading ${hub.file} into ${src.dir}; waiting for it`);
      }
      await this.#waitForLock(lockPath, hub);
    }
  }

  /** True when the file is there and was checked (`.sha256` marker, matching a pinned hash). */
  async #checked(path: string, hub: HubModel): Promise<boolean> {
    const known = (await readFile(`${path}.sha256`, "utf8").catch(() => "")).trim();
    const have = await stat(path).catch(() => undefined);
    return Boolean(have && known && (!hub.sha256 || known === hub.sha256));
  }

  /** Waits while another live process holds the lock, showing its progress; removes a stale lock. */
  async #waitForLock(lockPath: string, hub: HubModel): Promise<void> {
    const staleMs = this.#opts.staleLockMs ?? LOCK_STALE_MS;
    for (;;) {
      if (this.#stop.signal.aborted) throw new LocalModelError("download", "stopped while waiting for another process's download");
      const [text, info] = await Promise.all([readFile(lockPath, "utf8").catch(() => undefined), stat(lockPath).catch(() => undefined)]);
      if (text === undefined || !info) return;
      let owner: Partial<{ pid: number; host: string; progress: number; downloadedBytes: number; totalBytes: number }> = {};
      try {
        owner = JSON.parse(text) as typeof owner;
      } catch {
        // Being written right now; read again next time.
      }
      const deadOwner = owner.host === hostname() && typeof owner.pid === "number" && !alive(owner.pid);
      if (deadOwner || Date.now() - info.mtimeMs > staleMs) {
        this.#log.warn({ event: "local_model_stale_lock", pid: owner.pid, host: owner.host }, `taking over the download of ${hub.file} from a process that stopped`);
        await rm(lockPath, { force: true });
        return;
      }
      if (typeof owner.progress === "number") {
        this.#status = { state: "downloading", progress: owner.progress, downloadedBytes: owner.downloadedBytes ?? 0, totalBytes: owner.totalBytes ?? hub.approxBytes };
      } else if (this.#status.state !== "downloading") {
        this.#status = { state: "downloading", progress: 0, downloadedBytes: 0, totalBytes: hub.approxBytes };
      }
      await new Promise((r) => setTimeout(r, this.#opts.lockPollMs ?? LOCK_POLL_MS));
    }
  }

  async #fetch(src: Extract<LocalModelSource, { kind: "auto" }>, hub: HubModel, path: string): Promise<string> {
    const endpoint = (src.endpoint ?? DEFAULT_HUB_ENDPOINT).replace(/\/?$/, "/");
    const marker = `${path}.sha256`;
    const have = await stat(path).catch(() => undefined);

    const url = `${endpoint}${hub.repo}/resolve/${encodeURIComponent(hub.revision)}/${hub.file}`;
    const head = await fetch(url, { method: "HEAD", redirect: "manual", signal: this.#stop.signal }).catch((err: unknown) => {
      throw new LocalModelError("download", `could not reach ${endpoint} to download ${hub.file}: ${String((err as Error)?.cause ?? err)}`, { cause: err });
    });
    if (head.status >= 400) throw new LocalModelError("download", `the model hub answered ${head.status} for ${url}`);
    const expected = (hub.sha256 ?? head.headers.get("x-linked-etag") ?? "").replace(/"/g, "").toLowerCase();
    const total = Number(head.headers.get("x-linked-size") ?? head.headers.get("content-length") ?? hub.bytes ?? hub.approxBytes);
    if (hub.bytes !== undefined && total !== hub.bytes) {
      throw new LocalModelError("integrity", `the model hub offers ${hub.file} with ${total} bytes, not the pinned ${hub.bytes}; it is not the expected file, so it was not downloaded`);
    }
    if (!/^[0-9a-f]{64}$/.test(expected)) throw new LocalModelError("integrity", `the model hub published no sha256 for ${hub.file}, so it cannot be checked`);

    const fs = await statfs(src.dir);
    const free = fs.bavail * fs.bsize;
    if (free < total - (have?.size ?? 0)) {
      throw new LocalModelError("disk_full", `not enough disk space in ${src.dir} for ${hub.file}: it needs ${gb(total)}, ${gb(free)} is free`);
    }
    this.#log.info(
      { event: "local_model_download", model: hub.repo, file: hub.file, dir: src.dir, bytes: total, licence: hub.licence },
      `downloading the tutor's local model ${hub.repo}/${hub.file} (${gb(total)}, ${hub.licence}) into ${src.dir} in the background; ` +
        `set LOCAL_MODEL=off to turn this off, or LOCAL_MODEL=/path/to/model.gguf to use your own`,
    );
    this.#status = { state: "downloading", progress: 0, downloadedBytes: 0, totalBytes: total };
    let lastTenth = -1;
    const attempts = this.#opts.downloadAttempts ?? 5;
    for (let attempt = 1; ; attempt++) {
      try {
        const downloader = await createModelDownloader({
          modelUri: `hf:${hub.repo}/${hub.file}${hub.revision === "main" ? "" : `#${hub.revision}`}`,
          endpoints: { huggingFace: endpoint },
          dirPath: src.dir,
          fileName: hub.file,
          skipExisting: true,
          deleteTempFileOnCancel: false,
          onProgress: ({ totalSize, downloadedSize }) => {
            const progress = totalSize > 0 ? Math.min(1, downloadedSize / totalSize) : 0;
            this.#status = { state: "downloading", progress, downloadedBytes: downloadedSize, totalBytes: totalSize || total };
            const tenth = Math.floor(progress * 10);
            if (tenth > lastTenth) {
              lastTenth = tenth;
              this.#log.info({ event: "local_model_progress", percent: tenth * 10, bytes: downloadedSize }, `Preparing the tutor's model: ${tenth * 10}%`);
              void this.#beat?.();
            }
          },
        });
        await downloader.download({ signal: this.#stop.signal });
        break;
      } catch (err) {
        if (this.#stop.signal.aborted) throw err;
        const text = String((err as Error)?.message ?? err);
        if ((err as NodeJS.ErrnoException)?.code === "ENOSPC" || /ENOSPC|no space/i.test(text)) {
          throw new LocalModelError("disk_full", `the disk holding ${src.dir} is full; ${hub.file} could not be saved`, { cause: err });
        }
        if (attempt >= attempts) throw new LocalModelError("download", `downloading ${hub.file} failed ${attempts} times: ${text}`, { cause: err });
        this.#log.warn({ event: "local_model_download_retry", attempt, err: text }, "model download interrupted; resuming");
        await new Promise((r) => setTimeout(r, Math.min(30_000, 500 * 2 ** attempt)));
      }
    }
    const actual = await sha256(path);
    if (actual !== expected) {
      // Kept aside, not loaded: the next start downloads it afresh.
      await rename(path, `${path}.bad`).catch(() => rm(path, { force: true }));
      throw new LocalModelError("integrity", `the downloaded ${hub.file} does not match its published sha256 (expected ${expected}, got ${actual}); it was set aside and will be downloaded again at the next start`);
    }
    await writeFile(marker, `${actual}\n`);
    return path;
  }
}

/** Streams the file through the hash (a chunk at a time: the event loop keeps turning). */
function sha256(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash("sha256");
    createReadStream(path, { highWaterMark: 1 << 20 })
      .on("data", (c) => h.update(c))
      .on("error", reject)
      .on("end", () => resolve(h.digest("hex")));
  });
}

/** Whether a process of this host is still running (EPERM: it is, just not ours). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function gb(bytes: number): string {
  return bytes >= 1e9 ? `${(bytes / 1e9).toFixed(1)} GB` : `${Math.round(bytes / 1e6)} MB`;
}
