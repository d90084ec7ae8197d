// A model hub on loopback for download tests: serves files at Hugging Face's
// `/<repo>/resolve/<revision>/<file>` paths with HEAD, byte ranges and the
// hub's `x-linked-etag` (the file's sha256) — and can cut a download halfway
// or advertise a wrong checksum.
import { createHash } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { serveLoopback } from "./http.js";

export interface FakeHubRequest {
  method: string;
  path: string;
  range: string | undefined;
}

export interface FakeHub {
  /** The endpoint (what node-llama-cpp calls the Hugging Face endpoint), with a trailing slash. */
  readonly url: string;
  readonly requests: FakeHubRequest[];
  /** Serves `bytes` at `/<repo>/resolve/<revision>/<file>`. */
  add(repo: string, file: string, bytes: Buffer, options?: { revision?: string }): void;
  /** The next ranged GETs of a file end (socket destroyed) after this many bytes of the response; one entry per GET. */
  cutNext(...afterBytes: number[]): void;
  /** Advertise this sha256 instead of the real one. */
  lieAboutChecksum(sha256: string | undefined): void;
  /** Delay between 16 KiB writes (to watch progress). */
  throttleMs: number;
  close(): Promise<void>;
}

export async function startFakeHub(): Promise<FakeHub> {
  const files = new Map<string, { bytes: Buffer; sha256: string }>();
  const requests: FakeHubRequest[] = [];
  const cuts: number[] = [];
  let lie: string | undefined;

  const http = await serveLoopback((req: IncomingMessage, res: ServerResponse) => {
    const path = decodeURIComponent((req.url ?? "/").split("?")[0]!);
    requests.push({ method: req.method ?? "", path, range: req.headers.range });
    req.resume();
    const file = files.get(path);
    if (!file) {
      res.writeHead(404, { "content-type": "text/plain" }).end("Entry not found");
      return;
    }
    const size = file.bytes.length;
    let start = 0;
    let end = size - 1;
    const m = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? "");
    if (m) {
      start = m[1] ? Number(m[1]) : 0;
      end = m[2] ? Math.min(Number(m[2]), size - 1) : size - 1;
      if (start > end || start >= size) {
        res.writeHead(416, { "content-range": `bytes */${size}` }).end();
        return;
      }
    }
    const headers = {
      "accept-ranges": "bytes",
      "content-type": "application/octet-stream",
      "content-length": String(end - start + 1),
      etag: `"${lie ?? file.sha256}"`,
      "x-linked-etag": `"${lie ?? file.sha256}"`,
      "x-linked-size": String(size),
      ...(m ? { "content-range": `bytes ${start}-${end}/${size}` } : {}),
    };
    res.writeHead(m ? 206 : 200, headers);
    if (req.method === "HEAD") {
      res.end();
      return;
    }
    // Downloaders probe with a plain GET and drop it after the headers; only
    // ranged GETs carry the download, so only they are cut.
    const cutAt = m ? cuts.shift() : undefined;
    const body = file.bytes.subarray(start, end + 1);
    void (async () => {
      for (let off = 0; off < body.length; off += 16_384) {
        if (cutAt !== undefined && off >= cutAt) {
          res.destroy();
          return;
        }
        if (hub.throttleMs) await new Promise((r) => setTimeout(r, hub.throttleMs));
        if (res.destroyed) return;
        res.write(body.subarray(off, Math.min(off + 16_384, body.length)));
      }
      res.end();
    })();
  });

  const hub: FakeHub = {
    url: `http://127.0.0.1:${http.port}/`,
    requests,
    throttleMs: 0,
    add(repo, file, bytes, options = {}) {
      files.set(`/${repo}/resolve/${options.revision ?? "main"}/${file}`, { bytes, sha256: createHash("sha256").update(bytes).digest("hex") });
    },
    cutNext(...afterBytes) {
      cuts.push(...afterBytes);
    },
    lieAboutChecksum(sha256) {
      lie = sha256;
    },
    close: http.close,
  };
  return hub;
}
