// The browser end of the WebSocket protocol (shared/PROTOCOL.md): one socket,
// request ids for direct replies, keep-alive pings, reconnect with backoff.
// It knows nothing about auth or conversations; the controller re-authenticates
// on every `open`. Microphone audio goes out as binary frames.
import { BaseTransport, RequestError, decodeServerFrame, type AudioCarrier, type Transport } from "./transport.js";
import type { ServerMessageOf } from "@tutor/protocol";

export { RequestError, decodeServerFrame } from "./transport.js";
export type { ConnectionState, MessageListener, Outgoing, Transport } from "./transport.js";

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

export class ProtocolClient extends BaseTransport implements Transport {
  readonly kind = "websocket" as const;
  readonly audioCarrier: AudioCarrier = "frames";
  private ws: WebSocket | null = null;
  private audioHeader: ServerMessageOf<"speech_audio"> | null = null;
  private attempt = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private pingTimer: ReturnType<typeof setInterval> | null = null;
  private pongDeadline: ReturnType<typeof setTimeout> | null = null;
  private readonly opts: Required<Omit<ClientOptions, "WebSocketImpl">> & { WebSocketImpl: typeof WebSocket };
  private running = false;
  private readonly onOnline = () => this.reconnectNow();

  constructor(options: ClientOptions) {
    const opts = {
      initialBackoffMs: 500,
      maxBackoffMs: 15_000,
      pingIntervalMs: 25_000,
      pongTimeoutMs: 10_000,
      requestTimeoutMs: 20_000,
      WebSocketImpl: globalThis.WebSocket,
      ...options,
    };
    super("r", opts.requestTimeoutMs);
    this.opts = opts;
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

  reconnectNow(): void {
    if (!this.running || this.state.status === "open" || this.state.status === "connecting") return;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.connect();
  }

  protected write(json: string): void {
    const ws = this.ws;
    if (!ws) throw new RequestError("not_connected", "Not connected to the server.");
    ws.send(json);
  }

  sendAudio(pcm: Int16Array): void {
    const ws = this.ws;
    if (!ws || this.state.status !== "open") throw new RequestError("not_connected", "Not connected to the server.");
    // s16le on the wire; every browser platform is little-endian, so the samples' own bytes are it.
    ws.send(pcm.byteOffset === 0 && pcm.byteLength === pcm.buffer.byteLength ? pcm.buffer : pcm.slice().buffer);
  }

  publishMicrophone(): Promise<void> {
    return Promise.reject(new Error("The WebSocket carries microphone audio as frames, not as a track."));
  }

  unpublishMicrophone(): Promise<void> {
    return Promise.resolve();
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
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    ws.onopen = () => {
      if (this.ws !== ws) return;
      this.attempt = 0;
      this.startPing();
      this.opened();
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

  private handleFrame(data: unknown): void {
    if (data instanceof ArrayBuffer) {
      // Server voice: a binary frame is the audio of the `speech_audio` right before it.
      const header = this.audioHeader;
      this.audioHeader = null;
      if (header) this.deliverAudio(header, data);
      return;
    }
    const msg = decodeServerFrame(data);
    if (!msg) return;
    if (msg.type === "speech_audio") this.audioHeader = msg;
    if (this.pongDeadline) {
      // Any frame proves the connection is alive, not only `pong`.
      clearTimeout(this.pongDeadline);
      this.pongDeadline = null;
    }
    if (msg.type === "pong") return;
    this.deliver(msg);
  }
}

/** `ws://host/ws` for the page's own origin (Vite's dev server proxies it). */
export function defaultSocketUrl(loc: Location = window.location): string {
  return `${loc.protocol === "https:" ? "wss:" : "ws:"}//${loc.host}/ws`;
}
