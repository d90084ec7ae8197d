// The protocol through a LiveKit room (apps/agent/src/bridge.ts is the other
// end): JSON messages as reliable data packets on topic `tutor`, or as a text
// stream on the same topic when over MAX_PACKET_BYTES (both directions); the
// microphone as a published track. livekit-client is loaded on first use, so
// it is not part of the first page load.
import type * as LiveKitModule from "livekit-client";
import type { Room } from "livekit-client";
import { LIVEKIT_TOPIC, LiveKitToken, type ServerMessage } from "@tutor/protocol";
import { BaseTransport, RequestError, decodeServerFrame, type AudioCarrier, type Transport } from "./transport.js";

/** What the agent sends as one packet; larger messages go as text streams (LiveKit's advice for reliable packets). */
export const MAX_PACKET_BYTES = 15_000;

export type LiveKitSdk = Pick<typeof LiveKitModule, "Room" | "RoomEvent" | "Track">;
type RemoteTrack = LiveKitModule.RemoteTrack;

export interface LiveKitOptions {
  /** The signed-in student's bearer token (the token route is for signed-in users only). */
  bearer: string;
  fetchImpl?: typeof fetch;
  /** For tests: a stand-in for livekit-client. */
  loadSdk?: () => Promise<LiveKitSdk>;
  /** How long to wait for the agent's ready signal after joining. */
  readyTimeoutMs?: number;
  requestTimeoutMs?: number;
}

/** The room could not be joined, or was lost: the caller falls back to the WebSocket. */
export class LiveKitUnavailable extends Error {
  override name = "LiveKitUnavailable";
}

export class LiveKitClient extends BaseTransport implements Transport {
  readonly kind = "livekit" as const;
  readonly audioCarrier: AudioCarrier = "track";
  private room: Room | null = null;
  private sdk: LiveKitSdk | null = null;
  private published: MediaStreamTrack | null = null;
  private running = false;
  private ready = false;
  private readyTimer: ReturnType<typeof setTimeout> | null = null;
  /** Packets and streams leave in the order they were sent. */
  private outbox: Promise<void> = Promise.resolve();
  private readonly failListeners = new Set<(err: LiveKitUnavailable) => void>();
  private readonly opts: Required<Omit<LiveKitOptions, "fetchImpl" | "loadSdk">> & Pick<LiveKitOptions, "fetchImpl" | "loadSdk">;

  constructor(options: LiveKitOptions) {
    const opts = { readyTimeoutMs: 15_000, requestTimeoutMs: 20_000, ...options };
    super("k", opts.requestTimeoutMs);
    this.opts = opts;
  }

  /** Called once when joining fails or an open room is lost. */
  onFailed(fn: (err: LiveKitUnavailable) => void): () => void {
    this.failListeners.add(fn);
    return () => this.failListeners.delete(fn);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.setState({ status: "connecting", attempt: 1 });
    this.join().catch((err: unknown) => this.fail(err instanceof LiveKitUnavailable ? err : new LiveKitUnavailable(String(err instanceof Error ? err.message : err))));
  }

  stop(): void {
    this.running = false;
    this.teardown();
    this.failPending("connection_lost", "The connection was closed.");
    this.setState({ status: "idle" });
  }

  /** A room is not retried in place: the caller decides (it falls back to the WebSocket). */
  reconnectNow(): void {}

  private async join(): Promise<void> {
    const fetchImpl = this.opts.fetchImpl ?? ((...a: Parameters<typeof fetch>) => globalThis.fetch(...a));
    const res = await fetchImpl("/api/livekit/token", {
      method: "POST",
      headers: { authorization: `Bearer ${this.opts.bearer}`, accept: "application/json" },
    });
    if (!res.ok) throw new LiveKitUnavailable(`the token route answered ${res.status}`);
    const grant = LiveKitToken.safeParse(await res.json());
    if (!grant.success) throw new LiveKitUnavailable("the token route answered something unexpected");
    const sdk = await (this.opts.loadSdk ?? (() => import("livekit-client")))();
    if (!this.running) return;
    this.sdk = sdk;
    const room = new sdk.Room({ adaptiveStream: false, dynacast: false });
    this.room = room;
    // No check of the sender: our room holds only us and the agent, and LiveKit announces the agent up to 3 s
    // after its first packets (its participant is then still undefined here).
    room.on(sdk.RoomEvent.DataReceived, (payload, _participant, _kind, topic) => {
      if (topic !== LIVEKIT_TOPIC || this.room !== room) return;
      this.receive(new TextDecoder().decode(payload));
    });
    room.registerTextStreamHandler(LIVEKIT_TOPIC, (reader) => {
      void reader.readAll().then(
        (text) => {
          if (this.room === room) this.receive(text);
        },
        () => undefined,
      );
    });
    // The agent's voice (server text-to-speech): its audio track, played by the page (SpeechOut).
    room.on(sdk.RoomEvent.TrackSubscribed, (track: RemoteTrack) => {
      if (this.room === room && track.kind === sdk.Track.Kind.Audio) this.deliverVoiceTrack(track.mediaStreamTrack);
    });
    room.on(sdk.RoomEvent.TrackUnsubscribed, (track: RemoteTrack) => {
      if (this.room === room && track.mediaStreamTrack === this.voiceTrack) this.deliverVoiceTrack(null);
    });
    room.on(sdk.RoomEvent.Disconnected, () => {
      if (this.room === room) this.fail(new LiveKitUnavailable("the LiveKit room was disconnected"));
    });
    // The agent's `auth_response` is the ready signal (it is in the room and serves us); it comes soon after we join.
    this.readyTimer = setTimeout(() => this.fail(new LiveKitUnavailable("the tutor agent did not join the room in time")), this.opts.readyTimeoutMs);
    await room.connect(grant.data.url, grant.data.token);
  }

  private receive(text: string): void {
    const msg = decodeServerFrame(text);
    if (!msg) return;
    if (!this.ready) {
      if (msg.type === "auth_response" && msg.action === "verify" && msg.request_id === undefined) {
        if (!msg.success) {
          this.fail(new LiveKitUnavailable(msg.error ?? "the tutor agent refused the session"));
          return;
        }
        this.ready = true;
        if (this.readyTimer) clearTimeout(this.readyTimer);
        this.readyTimer = null;
        this.opened();
      }
      return;
    }
    this.deliver(msg as ServerMessage);
  }

  protected write(json: string): void {
    const room = this.room;
    if (!room || !this.ready) throw new RequestError("not_connected", "Not connected to the server.");
    const bytes = new TextEncoder().encode(json);
    this.outbox = this.outbox.then(async () => {
      if (this.room !== room) return;
      try {
        if (bytes.byteLength <= MAX_PACKET_BYTES) await room.localParticipant.publishData(bytes, { reliable: true, topic: LIVEKIT_TOPIC });
        // The agent may run an SDK without compressed streams: send them plain.
        else await room.localParticipant.sendText(json, { topic: LIVEKIT_TOPIC, compress: false });
      } catch {
        // The room is going away; the Disconnected handler falls back.
      }
    });
  }

  sendAudio(): void {
    throw new Error("LiveKit carries the microphone as a track, not as frames.");
  }

  async publishMicrophone(track: MediaStreamTrack): Promise<void> {
    const room = this.room;
    if (!room || !this.sdk || !this.ready) throw new RequestError("not_connected", "Not connected to the server.");
    this.published = track;
    await room.localParticipant.publishTrack(track, { source: this.sdk.Track.Source.Microphone, dtx: false, red: false });
  }

  async unpublishMicrophone(): Promise<void> {
    const track = this.published;
    this.published = null;
    if (track && this.room) await this.room.localParticipant.unpublishTrack(track, false);
  }

  private teardown(): void {
    if (this.readyTimer) clearTimeout(this.readyTimer);
    this.readyTimer = null;
    const room = this.room;
    this.room = null;
    this.ready = false;
    this.published = null;
    this.deliverVoiceTrack(null);
    if (room) {
      room.unregisterTextStreamHandler(LIVEKIT_TOPIC);
      void room.disconnect().catch(() => undefined);
    }
  }

  private fail(err: LiveKitUnavailable): void {
    if (!this.running) return;
    this.running = false;
    this.teardown();
    this.failPending("connection_lost", "The connection to the server was lost.");
    this.setState({ status: "idle" });
    for (const fn of this.failListeners) fn(err);
  }
}
