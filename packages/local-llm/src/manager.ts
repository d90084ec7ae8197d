// The in-process model's life: find or download the file (LOCAL_MODEL=auto),
// check it, load it, and meanwhile stand in the model chain as a ChatModel
// that answers `not_ready` with a message for the student ("getting ready:
// downloading its model (43%)"). A failure at any step is kept as a status
// naming the problem; the server keeps running and the rest of the chain works.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, readFile, rename, rm, stat, statfs, writeFile } from "node:fs/promises";
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
  /** Pinned checksum; unset: the hub's published sha256 of the file (`x-linked-etag`). */
  sha256?: string | undefined;
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
}

export class LocalModelManager {
  readonly model: ChatModel;
  readonly #opts: LocalModelManagerOptions;
  readonly #log: Logger;
  #status: LocalModelStatus = { state: "loading" };
  #loaded: LocalChatModel | undefined;
  #ready: Promise<void> | undefined;
  readonly #stop = new AbortController();

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

  async #download(src: Extract<LocalModelSource, { kind: "auto" }>): Promise<string> {
    const hub = src.model ?? DEFAULT_HUB_MODEL;
    const endpoint = (src.endpoint ?? DEFAULT_HUB_ENDPOINT).replace(/\/?$/, "/");
    const path = join(src.dir, hub.file);
    const marker = `${path}.sha256`;
    await mkdir(src.dir, { recursive: true });
    // A file checked once is not hashed again at every start.
    const known = await readFile(marker, "utf8").catch(() => "");
    const have = await stat(path).catch(() => undefined);
    if (have && known.trim() && (!hub.sha256 || known.trim() === hub.sha256)) return path;

    const url = `${endpoint}${hub.repo}/resolve/${encodeURIComponent(hub.revision)}/${hub.file}`;
    const head = await fetch(url, { method: "HEAD", redirect: "manual", signal: this.#stop.signal }).catch((err: unknown) => {
      throw new LocalModelError("download", `could not reach ${endpoint} to download ${hub.file}: ${String((err as Error)?.cause ?? err)}`, { cause: err });
    });
    if (head.status >= 400) throw new LocalModelError("download", `the model hub answered ${head.status} for ${url}`);
    const expected = (hub.sha256 ?? head.headers.get("x-linked-etag") ?? "").replace(/"/g, "").toLowerCase();
    const total = Number(head.headers.get("x-linked-size") ?? head.headers.get("content-length") ?? hub.approxBytes);
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

function gb(bytes: number): string {
  return bytes >= 1e9 ? `${(bytes / 1e9).toFixed(1)} GB` : `${Math.round(bytes / 1e6)} MB`;
}
