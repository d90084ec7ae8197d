// The core's EventHub across instances, on PostgreSQL LISTEN/NOTIFY: every
// process keeps one dedicated connection (outside the store's pool) that
// LISTENs on one channel and also sends the NOTIFYs, so a burst of events
// never takes a pool connection from a query. Local listeners get an event at
// once, in process; other instances get it through NOTIFY and skip their own.
import { randomUUID } from "node:crypto";
import pg from "pg";
import { HubListeners, silentLogger, type EventHub, type HubEvent, type Logger } from "@tutor/core";
import { SESSION_END_REASONS, TEACHING_MODES } from "@tutor/protocol";

/** PostgreSQL's NOTIFY payload limit is 8000 bytes (with the default block size). */
export const NOTIFY_MAX_BYTES = 7999;
export const HUB_CHANNEL = "tutor_events";

export type HubDropReason = "too_large" | "bad_payload" | "queue_full" | "notify_failed" | "listener_error";

/** What the hub reports, for metrics; every method optional. */
export interface HubObserver {
  published?(kind: string): void;
  /** An event from another instance, with the time between its NOTIFY and its arrival here. */
  received?(kind: string, lagMs: number): void;
  /** Arrived for a user with no connection here: not an error, the common case. */
  unrouted?(): void;
  dropped?(reason: HubDropReason): void;
  connection?(state: "connected" | "disconnected"): void;
}

export interface PgHubOptions {
  url: string;
  logger?: Logger | undefined;
  observer?: HubObserver | undefined;
  channel?: string | undefined;
  /** Reconnect backoff after the connection is lost: doubles from min to max, with jitter. */
  reconnectMs?: { min: number; max: number } | undefined;
  /** Publishes kept unsent (while disconnected, sent after the reconnect); beyond it the oldest are dropped. */
  maxQueued?: number | undefined;
  /** A `select 1` this often finds a connection that died without telling us. */
  heartbeatMs?: number | undefined;
  /** Accepts a decoded event (shape check; default `isHubEvent`); a payload it refuses is counted as bad. */
  isEvent?: ((value: unknown) => value is HubEvent) | undefined;
}

interface Envelope {
  /** Sending instance. */
  i: string;
  /** Sent at (epoch ms), for the lag metric; clocks of one machine or NTP-synced ones. */
  t: number;
  u: string;
  e: HubEvent;
}

const str = (v: unknown): v is string => typeof v === "string" && v.length > 0 && v.length <= 200;

/**
 * Is this decoded payload a HubEvent the core can act on? Another instance
 * (possibly of another version) or anyone with NOTIFY rights may have sent it.
 */
export function isHubEvent(v: unknown): v is HubEvent {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  const e = v as Record<string, unknown>;
  if (!str(e.userId)) return false;
  switch (e.kind) {
    case "conversation_updated":
    case "cancel_turn":
      return str(e.conversationId) && str(e.origin);
    case "conversation_deleted":
      return str(e.conversationId) && str(e.origin) && (e.currentConversationId === null || str(e.currentConversationId));
    case "conversations_cleared":
      return (
        str(e.origin) &&
        (TEACHING_MODES as readonly unknown[]).includes(e.teachingMode) &&
        Number.isInteger(e.deletedCount) &&
        str(e.newConversationId)
      );
    case "conversations_imported":
      return str(e.origin) && Number.isInteger(e.count);
    case "session_ended":
      return (SESSION_END_REASONS as readonly unknown[]).includes(e.reason) && (e.jti === undefined || str(e.jti));
    default:
      return false;
  }
}

/** A short name for metrics: the event's kind (or, for message-carrying events, its message type). */
export function hubEventKind(e: unknown): string {
  if (typeof e !== "object" || e === null) return "unknown";
  const r = e as { kind?: unknown; message?: { type?: unknown } };
  if (typeof r.kind === "string") return r.kind;
  if (typeof r.message?.type === "string") return r.message.type;
  return "unknown";
}

export class PgEventHub implements EventHub {
  /** This process, so its own NOTIFYs coming back are skipped. */
  readonly instanceId = randomUUID();
  readonly #opts: Required<Omit<PgHubOptions, "observer" | "logger">> & { observer: HubObserver; logger: Logger };
  readonly #listeners = new HubListeners();
  readonly #resync = new Set<() => void>();
  #client: pg.Client | undefined;
  #connected = false;
  #closed = false;
  #everConnected = false;
  #attempt = 0;
  #retryTimer: NodeJS.Timeout | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  /** Payloads not yet sent: waiting for the statement in flight, or for the reconnect. */
  #queue: string[] = [];
  #sending = false;
  #chain: Promise<unknown> = Promise.resolve();
  #lastError: string | undefined;

  constructor(options: PgHubOptions) {
    this.#opts = {
      url: options.url,
      channel: options.channel ?? HUB_CHANNEL,
      reconnectMs: options.reconnectMs ?? { min: 200, max: 10_000 },
      maxQueued: options.maxQueued ?? 1000,
      heartbeatMs: options.heartbeatMs ?? 15_000,
      isEvent: options.isEvent ?? isHubEvent,
      observer: options.observer ?? {},
      logger: (options.logger ?? silentLogger).child({ component: "hub" }),
    };
    if (!/^[a-z_][a-z0-9_]*$/.test(this.#opts.channel)) throw new Error(`hub channel must be a plain identifier: ${this.#opts.channel}`);
  }

  /** Connects and LISTENs; rejects if the first connection fails (start-up then stops with the reason). */
  async start(): Promise<void> {
    await this.#connect();
    this.#heartbeat = setInterval(() => void this.#beat(), this.#opts.heartbeatMs).unref();
  }

  /** Whether this process hears other instances right now (for /readyz). */
  status(): { connected: boolean; lastError?: string | undefined; queued: number } {
    return { connected: this.#connected, lastError: this.#connected ? undefined : this.#lastError, queued: this.#queue.length };
  }

  publish(userId: string, event: HubEvent): void {
    this.#deliver(userId, event);
    this.#opts.observer.published?.(hubEventKind(event));
    const envelope: Envelope = { i: this.instanceId, t: Date.now(), u: userId, e: event };
    const payload = JSON.stringify(envelope);
    if (Buffer.byteLength(payload) > NOTIFY_MAX_BYTES) {
      // Events are ids and kinds; one this big is a bug, and PostgreSQL would refuse it anyway.
      this.#opts.observer.dropped?.("too_large");
      this.#opts.logger.error({ event: "hub_event_too_large", kind: hubEventKind(event), bytes: Buffer.byteLength(payload) }, "hub event over the NOTIFY limit: not sent to other instances");
      return;
    }
    this.#enqueue(payload);
  }

  subscribe(userId: string, listener: (event: HubEvent) => void): () => void {
    return this.#listeners.subscribe(userId, listener);
  }

  /**
   * Called after the listening connection came back: events sent meanwhile
   * were missed, so each open connection should re-read what it shows.
   */
  onResync(listener: () => void): () => void {
    this.#resync.add(listener);
    return () => this.#resync.delete(listener);
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    clearInterval(this.#heartbeat);
    const client = this.#client;
    this.#client = undefined;
    this.#connected = false;
    await client?.end().catch(() => undefined);
  }

  // ------------------------------------------------------------ delivery

  #deliver(userId: string, event: HubEvent): boolean {
    const listeners = this.#listeners.of(userId);
    if (!listeners) return false;
    for (const fn of listeners) {
      try {
        fn(event);
      } catch (err) {
        // One broken listener must not keep the event from the user's other connections.
        this.#opts.observer.dropped?.("listener_error");
        this.#opts.logger.error({ event: "hub_listener_failed", err }, "a hub listener threw");
      }
    }
    return true;
  }

  #onNotification(msg: pg.Notification): void {
    if (msg.channel !== this.#opts.channel) return;
    const envelope = this.#parse(msg.payload);
    if (!envelope) {
      this.#opts.observer.dropped?.("bad_payload");
      this.#opts.logger.warn({ event: "hub_bad_payload", bytes: msg.payload?.length ?? 0, head: msg.payload?.slice(0, 80) }, "hub payload did not parse: ignored");
      return;
    }
    if (envelope.i === this.instanceId) return;
    this.#opts.observer.received?.(hubEventKind(envelope.e), Math.max(0, Date.now() - envelope.t));
    if (!this.#deliver(envelope.u, envelope.e)) this.#opts.observer.unrouted?.();
  }

  #parse(payload: string | undefined): Envelope | undefined {
    if (!payload) return undefined;
    let v: unknown;
    try {
      v = JSON.parse(payload);
    } catch {
      return undefined;
    }
    if (typeof v !== "object" || v === null) return undefined;
    const r = v as Record<string, unknown>;
    if (typeof r.i !== "string" || typeof r.u !== "string" || r.u === "" || typeof r.t !== "number" || !Number.isFinite(r.t)) return undefined;
    if (!this.#opts.isEvent(r.e)) return undefined;
    // Routed by the envelope's user, acted on by the event's: they must agree, or it could reach the wrong user.
    if ((r.e as { userId?: unknown }).userId !== undefined && (r.e as { userId?: unknown }).userId !== r.u) return undefined;
    return { i: r.i, t: r.t, u: r.u, e: r.e };
  }

  // ------------------------------------------------------------ sending

  /**
   * NOTIFYs leave one statement at a time on the one connection (pg wants no
   * overlapping queries on a client); what piles up meanwhile goes as one
   * batch, so a burst costs a few round trips, not one per event.
   */
  #pump(): void {
    const client = this.#client;
    if (!client || !this.#connected || this.#sending || this.#queue.length === 0) return;
    const batch = this.#queue.splice(0, 500);
    this.#sending = true;
    this.#exclusive(() =>
      client.query("select pg_notify($1, p) from unnest($2::text[]) with ordinality as t(p, n) order by n", [this.#opts.channel, batch]),
    ).then(
      () => {
        this.#sending = false;
        this.#pump();
      },
      (err: unknown) => {
        this.#sending = false;
        if (this.#client === client && this.#connected) {
          // The server refused the statement itself: retrying would fail the same way.
          this.#opts.logger.error({ event: "hub_notify_failed", err, dropped: batch.length }, "NOTIFY failed");
          this.#opts.observer.dropped?.("notify_failed");
          this.#pump();
        } else {
          // Lost with the connection: sent again after the reconnect.
          this.#queue.unshift(...batch);
          this.#trim();
          this.#pump(); // a new connection may already be up
        }
      },
    );
  }

  #enqueue(payload: string): void {
    this.#queue.push(payload);
    this.#trim();
    this.#pump();
  }

  #trim(): void {
    const over = this.#queue.length - this.#opts.maxQueued;
    if (over <= 0) return;
    this.#queue.splice(0, over);
    for (let i = 0; i < over; i++) this.#opts.observer.dropped?.("queue_full");
  }

  /** Runs a query after the ones before it on the hub connection. */
  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.#chain.then(fn);
    this.#chain = p.then(
      () => undefined,
      () => undefined,
    );
    return p;
  }

  // ------------------------------------------------------------ the connection

  async #connect(): Promise<void> {
    const client = new pg.Client({
      connectionString: this.#opts.url,
      keepAlive: true,
      connectionTimeoutMillis: 10_000,
      // The process id tells an operator (and a test) whose listening connection a backend is.
      application_name: `tutor-hub ${process.pid}`,
    });
    // Errors also end the connection ('end' follows); without a handler an error event would crash the process.
    client.on("error", (err) => {
      this.#lastError = err.message;
      this.#opts.logger.warn({ event: "hub_connection_error", err: err.message }, "hub connection error");
    });
    client.on("end", () => this.#lost(client));
    client.on("notification", (msg) => this.#onNotification(msg));
    try {
      await client.connect();
      await client.query(`listen ${this.#opts.channel}`);
    } catch (err) {
      this.#lastError = (err as Error).message;
      client.removeAllListeners("end");
      await client.end().catch(() => undefined);
      throw err;
    }
    if (this.#closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.#client = client;
    this.#connected = true;
    this.#attempt = 0;
    this.#lastError = undefined;
    this.#opts.observer.connection?.("connected");
    const reconnected = this.#everConnected;
    this.#everConnected = true;
    const queued = this.#queue.length;
    this.#chain = Promise.resolve();
    this.#pump();
    if (reconnected) {
      this.#opts.logger.info({ event: "hub_reconnected", sent_queued: queued }, "hub reconnected: re-synchronising open connections");
      for (const fn of [...this.#resync]) {
        try {
          fn();
        } catch (err) {
          this.#opts.logger.error({ event: "hub_resync_failed", err }, "a resync listener threw");
        }
      }
    }
  }

  #lost(client: pg.Client): void {
    if (this.#client !== client) return;
    this.#client = undefined;
    this.#connected = false;
    if (this.#closed) return;
    this.#opts.observer.connection?.("disconnected");
    this.#opts.logger.warn({ event: "hub_disconnected", err: this.#lastError }, "hub connection lost: reconnecting");
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    if (this.#closed) return;
    const { min, max } = this.#opts.reconnectMs;
    const base = Math.min(max, min * 2 ** this.#attempt++);
    const delay = base / 2 + Math.random() * (base / 2);
    this.#retryTimer = setTimeout(() => {
      this.#connect().catch((err: unknown) => {
        this.#opts.logger.warn({ event: "hub_reconnect_failed", attempt: this.#attempt, err: (err as Error).message }, "hub reconnect failed; retrying");
        this.#scheduleReconnect();
      });
    }, delay);
    this.#retryTimer.unref();
  }

  /** A connection can die silently (a dropped route, a frozen server): a query that fails or hangs ends it. */
  async #beat(): Promise<void> {
    const client = this.#client;
    if (!client || !this.#connected) return;
    let timer: NodeJS.Timeout | undefined;
    const hung = new Promise<"hung">((r) => (timer = setTimeout(() => r("hung"), 10_000)));
    const r = await Promise.race([this.#exclusive(() => client.query("select 1")).then(() => "ok" as const, () => "failed" as const), hung]);
    clearTimeout(timer);
    if (r !== "ok" && this.#client === client) {
      this.#lastError = `heartbeat ${r}`;
      // 'end' follows and reconnects.
      (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
      void client.end().catch(() => undefined);
    }
  }
}
