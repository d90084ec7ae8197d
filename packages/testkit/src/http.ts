// Wire helpers shared by the fake servers (chat, transcription, speech, model
// hub): a loopback server whose close() never waits for a hanging request,
// OpenAI-style error replies, request bodies, response-bound waits, and the
// per-request record keeping (how an exchange ended, the last N requests,
// waiting for the next one).
import { createServer, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

export function errorBody(message: string, type: string, code: string | null = null) {
  return { error: { message, type, param: null, code } };
}

/** The OpenAI error `type` a real provider sends with this status. */
export function errorType(status: number): string {
  return status === 429 ? "rate_limit_error" : status >= 500 ? "server_error" : "invalid_request_error";
}

/** A scripted provider error: OpenAI-style body, `Retry-After` (and `retry-after-ms`) when given. */
export function sendError(
  res: ServerResponse,
  status: number,
  message: string,
  options: { retryAfter?: number | string; retryAfterMs?: number; code?: string | null } = {},
) {
  const headers: Record<string, string> = {};
  if (options.retryAfter !== undefined) headers["retry-after"] = String(options.retryAfter);
  if (options.retryAfterMs !== undefined) headers["retry-after-ms"] = String(options.retryAfterMs);
  sendJson(res, status, errorBody(message, errorType(status), options.code ?? null), headers);
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  if (res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...headers });
  res.end(text);
}

export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on("data", (c: Buffer) => parts.push(c));
    req.on("end", () => resolve(Buffer.concat(parts)));
    req.on("error", reject);
  });
}

/** Resolves after `ms`, or as soon as the response closes (so no timer outlives it). */
export function wait(ms: number, res: ServerResponse): Promise<void> {
  if (res.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      res.off("close", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    res.on("close", done);
  });
}

export interface LoopbackServer {
  readonly server: Server;
  readonly port: number;
  /** Destroys open sockets (hanging requests included) and stops listening. */
  close(): Promise<void>;
}

/**
 * A node:http server on a free loopback port. A handler that fails answers 500
 * (or cuts the connection once headers went out); open sockets are tracked so
 * close() never waits for a request the test left hanging.
 */
export async function serveLoopback(
  handle: (req: IncomingMessage, res: ServerResponse) => void | Promise<void>,
  options: ServerOptions = {},
): Promise<LoopbackServer> {
  const sockets = new Set<Socket>();
  const server = createServer(options, (req, res) => {
    const fail = (err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, errorBody(String(err), "server_error"));
      else res.destroy();
    };
    try {
      void Promise.resolve(handle(req, res)).catch(fail);
    } catch (err) {
      fail(err);
    }
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  const port = await listenLoopback(server);
  return {
    server,
    port,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}

/** How an exchange ended: written to the end, or the client hung up first (servers may add their own, e.g. "server_cut"). */
export type Ended = "completed" | "client_closed";

/**
 * Watches a response for its end and reports it once, to `onEnd` and through
 * `settled`. `settle` ends it early with an outcome of the server's own.
 */
export function watchExchange<O extends string = Ended>(
  res: ServerResponse,
  onEnd: (outcome: O | Ended) => void = () => {},
): { settled: Promise<O | Ended>; settle(outcome: O | Ended): void } {
  let done = false;
  let resolve!: (o: O | Ended) => void;
  const settled = new Promise<O | Ended>((r) => (resolve = r));
  const settle = (o: O | Ended) => {
    if (done) return;
    done = true;
    onEnd(o);
    resolve(o);
  };
  res.on("finish", () => settle("completed"));
  res.on("close", () => settle(res.writableFinished ? "completed" : "client_closed"));
  return { settled, settle };
}

/** Scripted behaviours: each request takes the next one queued, then the default. */
export class Script<B> {
  #queue: B[] = [];
  #fallback: B;
  constructor(private readonly initial: B) {
    this.#fallback = initial;
  }
  add(behaviour: B | B[]): void {
    this.#queue.push(...(Array.isArray(behaviour) ? behaviour : [behaviour]));
  }
  setDefault(behaviour: B): void {
    this.#fallback = behaviour;
  }
  next(): B {
    return this.#queue.shift() ?? this.#fallback;
  }
  /** Empties the queue and restores the default given at creation. */
  reset(): void {
    this.#queue = [];
    this.#fallback = this.initial;
  }
}

/** Appends a request record, keeping only the last `limit`. */
export function remember<T>(records: T[], record: T, limit: number): void {
  records.push(record);
  if (records.length > limit) records.splice(0, records.length - limit);
}

/** `next()` resolves with the next value `arrived()` is given (tests wait for a request to arrive). */
export function arrivals<T>(): { next(): Promise<T>; arrived(value: T): void } {
  let waiters: ((value: T) => void)[] = [];
  return {
    next: () => new Promise<T>((resolve) => waiters.push(resolve)),
    arrived(value) {
      const wake = waiters;
      waiters = [];
      for (const w of wake) w(value);
    },
  };
}

/** Listens on a free loopback port; resolves with it. */
export async function listenLoopback(server: Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}
