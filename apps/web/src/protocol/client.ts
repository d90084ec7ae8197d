// The browser end of the WebSocket protocol (shared/PROTOCOL.md): one socket,
// request ids for direct replies, keep-alive pings, reconnect with backoff.
// It knows nothing about auth or conversations; the controller re-authenticates
// on every `open`.
import { serverMessages } from "@tutor/protocol";
import type { ClientMessage, ErrorCode, ServerMessage, ServerMessageType } from "@tutor/protocol";

/** A client message without its request id: the client adds one. */
export type Outgoing = ClientMessage extends infer M ? (M extends ClientMessage ? Omit<M, "request_id"> : never) : never;

export type ConnectionState =
  | { status: "idle" }
  | { status: "connecting"; attempt: number }
  | { status: "open" }
  | { status: "waiting"; attempt: number; retryAt: number };

/** A reply of type `error` to a request, or a request that could not get one. */
export class RequestError extends Error {
  constructor(
    readonly code: ErrorCode | "not_connected" | "connection_lost" | "timeout",
    message: string,
  ) {
    super(message);
    this.name = "RequestError";
  }
}

export interface ClientOptions {
  url: string;
  /** For tests and benchmarks: a WebSocket look-alike. */
  WebSocketImpl?: typeof WebSocket;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  pingIntervalMs?: number;
  /** A connection that answers no ping in this time is treated as dead. */
  pongTimeoutMs?: number;
  requestTimeoutMs?: number;
}

interface Pending {
  resolve(msg: ServerMessage): void;
  reject(err: RequestError): void;
  timer: ReturnType<typeof setTimeout>;
}

type Listener<T> = (value: T) => void;
/** `awaited`: a `request()` caller receives this reply too (and reports its errors itself). */
export type MessageListener = (message: ServerMessage, meta: { awaited: boolean }) => void;

/** Decode and validate one server frame; a frame we cannot read is dropped, not thrown. */
export function decodeServerFrame(data: unknown): ServerMessage | null {
  if (typeof data !== "string") return null;
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null) return null;
  const type = (value as { type?: unknown }).type;
  if (typeof type !== "string" || !Object.hasOwn(serverMessages, type)) return null;
  const parsed = serverMessages[type as ServerMessageType].safeParse(value);
  return parsed.success ? (parsed.data as ServerMessage) : null;
}

export class ProtocolClient {
  private ws: WebSocket | null = null;
  private state: ConnectionState = { status: "idle" };
  private attempt = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private pingTimer: ReturnType<typeof setInterval> | null = null;
  private pongDeadline: ReturnType<typeof setTimeout> | null = null;
  private counter = 0;
  private readonly pending = new Map<string, Pending>();
  private readonly messageListeners = new Set<MessageListener>();
  private readonly stateListeners = new Set<Listener<ConnectionState>>();
  private readonly openListeners = new Set<Listener<void>>();
  private readonly opts: Required<Omit<ClientOptions, "WebSocketImpl">> & { WebSocketImpl: typeof WebSocket };
  private running = false;
  private readonly onOnline = () => this.reconnectNow();

  constructor(options: ClientOptions) {
    this.opts = {
      initialBackoffMs: 500,
      maxBackoffMs: 15_000,
      pingIntervalMs: 25_000,
      pongTimeoutMs: 10_000,
      requestTimeoutMs: 20_000,
      WebSocketImpl: globalThis.WebSocket,
      ...options,
    };
  }

  get connection(): ConnectionState {
    return this.state;
  }

  get isOpen(): boolean {
    return this.state.status === "open";
  }

  onMessage(fn: MessageListener): () => void {
    this.messageListeners.add(fn);
    return () => this.messageListeners.delete(fn);
  }

  onState(fn: Listener<ConnectionState>): () => void {
    this.stateListeners.add(fn);
    return () => this.stateListeners.delete(fn);
  }

  /** Called after every successful (re)connect, before queued UI work resumes. */
  onOpen(fn: Listener<void>): () => void {
    this.openListeners.add(fn);
    return () => this.openListeners.delete(fn);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    globalThis.addEventListener?.("online", this.onOnline);
    this.connect();
  }

  stop(): void {
    this.running = false;
    globalThis.removeEventListener?.("online", this.onOnline);
    this.clearTimers();
    const ws = this.ws;
    this.ws = null;
    ws?.close(1000, "client stopped");
    this.failPending("connection_lost", "The connection was closed.");
    this.setState({ status: "idle" });
  }

  /** Skip the remaining backoff (the banner's "Retry now", the browser coming online). */
  reconnectNow(): void {
    if (!this.running || this.state.status === "open" || this.state.status === "connecting") return;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.connect();
  }

  /** Send without waiting for a reply; returns the request id used. */
  send(message: Outgoing): string {
    const ws = this.ws;
    if (!ws || this.state.status !== "open") {
      throw new RequestError("not_connected", "Not connected to the server.");
    }
    const request_id = this.nextId();
    ws.send(JSON.stringify({ ...message, request_id }));
    return request_id;
  }

  /**
   * Send and resolve with the first reply carrying the same request id.
   * An `error` reply rejects with its code; so does losing the connection.
   */
  request(message: Outgoing, timeoutMs = this.opts.requestTimeoutMs): Promise<ServerMessage> {
    return new Promise((resolve, reject) => {
      let rid: string;
      try {
        rid = this.send(message);
      } catch (err) {
        reject(err);
        return;
      }
      const timer = setTimeout(() => {
        this.pending.delete(rid);
        reject(new RequestError("timeout", "The server did not answer in time."));
      }, timeoutMs);
      this.pending.set(rid, { resolve, reject, timer });
    });
  }

  private nextId(): string {
    this.counter += 1;
    return `r${this.counter.toString(36)}`;
  }

  private setState(state: ConnectionState): void {
    this.state = state;
    for (const fn of this.stateListeners) fn(state);
  }

  private connect(): void {
    this.attempt += 1;
    this.setState({ status: "connecting", attempt: this.attempt });
    let ws: WebSocket;
    try {
      ws = new this.opts.WebSocketImpl(this.opts.url);
    } catch {
      this.scheduleRetry();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      if (this.ws !== ws) return;
      this.attempt = 0;
      this.setState({ status: "open" });
      this.startPing();
      for (const fn of this.openListeners) fn();
    };
    ws.onmessage = (ev: MessageEvent) => {
      if (this.ws !== ws) return;
      this.handleFrame(ev.data);
    };
    ws.onclose = () => this.handleClose(ws);
    // An error is always followed by close; the retry is scheduled there.
    ws.onerror = () => {};
  }

  private handleClose(ws: WebSocket): void {
    if (this.ws !== ws) return;
    this.ws = null;
    this.clearTimers();
    this.failPending("connection_lost", "The connection to the server was lost.");
    if (this.running) this.scheduleRetry();
    else this.setState({ status: "idle" });
  }

  private scheduleRetry(): void {
    // Full jitter keeps a restarted server from being hit by every tab at once.
    const ceiling = Math.min(this.opts.maxBackoffMs, this.opts.initialBackoffMs * 2 ** Math.max(0, this.attempt - 1));
    const delay = Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
    this.setState({ status: "waiting", attempt: this.attempt, retryAt: Date.now() + delay });
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (this.running) this.connect();
    }, delay);
  }

  private startPing(): void {
    this.pingTimer = setInterval(() => {
      if (!this.ws || this.state.status !== "open") return;
      this.ws.send(JSON.stringify({ type: "ping" }));
      if (!this.pongDeadline) {
        this.pongDeadline = setTimeout(() => {
          // Half-open sockets never fire close on their own; force the reconnect.
          this.pongDeadline = null;
          const ws = this.ws;
          if (!ws) return;
          ws.close(4000, "no pong");
          this.handleClose(ws);
        }, this.opts.pongTimeoutMs);
      }
    }, this.opts.pingIntervalMs);
  }

  private clearTimers(): void {
    if (this.pingTimer) clearInterval(this.pingTimer);
    if (this.pongDeadline) clearTimeout(this.pongDeadline);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.pingTimer = null;
    this.pongDeadline = null;
    this.retryTimer = null;
  }

  private failPending(code: RequestError["code"], message: string): void {
    for (const [rid, p] of this.pending) {
      clearTimeout(p.timer);
      this.pending.delete(rid);
      p.reject(new RequestError(code, message));
    }
  }

  private handleFrame(data: unknown): void {
    const msg = decodeServerFrame(data);
    if (!msg) return;
    if (this.pongDeadline) {
      // Any frame proves the connection is alive, not only `pong`.
      clearTimeout(this.pongDeadline);
      this.pongDeadline = null;
    }
    if (msg.type === "pong") return;
    const rid = msg.request_id;
    const waiter = rid === undefined ? undefined : this.pending.get(rid);
    if (waiter && rid !== undefined) {
      this.pending.delete(rid);
      clearTimeout(waiter.timer);
      if (msg.type === "error") waiter.reject(new RequestError(msg.code, msg.message));
      else waiter.resolve(msg);
    }
    const meta = { awaited: waiter !== undefined };
    for (const fn of this.messageListeners) fn(msg, meta);
  }
}

/** `ws://host/ws` for the page's own origin (Vite's dev server proxies it). */
export function defaultSocketUrl(loc: Location = window.location): string {
  return `${loc.protocol === "https:" ? "wss:" : "ws:"}//${loc.host}/ws`;
}
