// What the app needs from a carrier of the protocol (shared/PROTOCOL.md): the
// WebSocket (`client.ts`) and a LiveKit room (`livekit.ts`) both implement it,
// so the controller never knows which one it talks through. The request-id
// bookkeeping, listeners and frame decoding live here once.
import { serverMessages } from "@tutor/protocol";
import type { ClientMessage, ErrorCode, ServerMessage, ServerMessageOf, ServerMessageType } from "@tutor/protocol";

/** A client message without its request id: the transport adds one. */
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

type Listener<T> = (value: T) => void;
/** `awaited`: a `request()` caller receives this reply too (and reports its errors itself). */
export type MessageListener = (message: ServerMessage, meta: { awaited: boolean }) => void;

/**
 * How microphone audio travels: `frames` carriers take 16 kHz mono s16le
 * frames between `audio_start` and `audio_end` (the WebSocket); `track`
 * carriers publish the microphone track itself (LiveKit: publishing is the
 * agent's audio_start, unpublishing its audio_end).
 */
export type AudioCarrier = "frames" | "track";

export interface Transport {
  readonly kind: "websocket" | "livekit";
  readonly audioCarrier: AudioCarrier;
  readonly connection: ConnectionState;
  readonly isOpen: boolean;
  onMessage(fn: MessageListener): () => void;
  onState(fn: Listener<ConnectionState>): () => void;
  /** Called after every successful (re)connect, before queued UI work resumes. */
  onOpen(fn: Listener<void>): () => void;
  /** Server voice: a `speech_audio` header with the PCM of the binary frame that followed it (WebSocket only). */
  onSpeechAudio(fn: SpeechAudioListener): () => void;
  /** Server voice in a LiveKit room: the agent's audio track to play (null: none, or it went away). */
  onVoiceTrack(fn: VoiceTrackListener): () => void;
  readonly voiceTrack: MediaStreamTrack | null;
  start(): void;
  stop(): void;
  /** Skip the remaining backoff (the banner's "Retry now", the browser coming online). */
  reconnectNow(): void;
  /** Send without waiting for a reply; returns the request id used. */
  send(message: Outgoing): string;
  /** Send and resolve with the first reply carrying the same request id; an `error` reply rejects. */
  request(message: Outgoing, timeoutMs?: number): Promise<ServerMessage>;
  /** One frame of 16 kHz mono s16le microphone audio (`frames` carriers). */
  sendAudio(pcm: Int16Array): void;
  /** Publish the microphone (`track` carriers); resolves once it is published. */
  publishMicrophone(track: MediaStreamTrack): Promise<void>;
  /** Stop publishing it: the far end takes that as the end of the audio stream. */
  unpublishMicrophone(): Promise<void>;
}

export type SpeechAudioListener = (header: ServerMessageOf<"speech_audio">, pcm: ArrayBuffer) => void;
export type VoiceTrackListener = (track: MediaStreamTrack | null) => void;

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

interface Pending {
  resolve(msg: ServerMessage): void;
  reject(err: RequestError): void;
  timer: ReturnType<typeof setTimeout>;
}

/** Listeners, request ids and replies: everything a carrier does apart from moving bytes. */
export abstract class BaseTransport {
  protected state: ConnectionState = { status: "idle" };
  private counter = 0;
  private readonly pending = new Map<string, Pending>();
  private readonly messageListeners = new Set<MessageListener>();
  private readonly stateListeners = new Set<Listener<ConnectionState>>();
  private readonly openListeners = new Set<Listener<void>>();
  private readonly audioListeners = new Set<SpeechAudioListener>();
  private readonly voiceTrackListeners = new Set<VoiceTrackListener>();
  private currentVoiceTrack: MediaStreamTrack | null = null;

  constructor(
    private readonly idPrefix: string,
    protected readonly requestTimeoutMs: number,
  ) {}

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

  onSpeechAudio(fn: SpeechAudioListener): () => void {
    this.audioListeners.add(fn);
    return () => this.audioListeners.delete(fn);
  }

  protected deliverAudio(header: ServerMessageOf<"speech_audio">, pcm: ArrayBuffer): void {
    for (const fn of this.audioListeners) fn(header, pcm);
  }

  get voiceTrack(): MediaStreamTrack | null {
    return this.currentVoiceTrack;
  }

  onVoiceTrack(fn: VoiceTrackListener): () => void {
    this.voiceTrackListeners.add(fn);
    return () => this.voiceTrackListeners.delete(fn);
  }

  protected deliverVoiceTrack(track: MediaStreamTrack | null): void {
    if (track === this.currentVoiceTrack) return;
    this.currentVoiceTrack = track;
    for (const fn of this.voiceTrackListeners) fn(track);
  }

  onOpen(fn: Listener<void>): () => void {
    this.openListeners.add(fn);
    return () => this.openListeners.delete(fn);
  }

  /** Writes one encoded message to the carrier; throws RequestError("not_connected") when it cannot. */
  protected abstract write(json: string): void;

  send(message: Outgoing): string {
    if (this.state.status !== "open") throw new RequestError("not_connected", "Not connected to the server.");
    const request_id = this.nextId();
    this.write(JSON.stringify({ ...message, request_id }));
    return request_id;
  }

  request(message: Outgoing, timeoutMs = this.requestTimeoutMs): Promise<ServerMessage> {
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

  protected nextId(): string {
    this.counter += 1;
    return `${this.idPrefix}${this.counter.toString(36)}`;
  }

  protected setState(state: ConnectionState): void {
    this.state = state;
    for (const fn of this.stateListeners) fn(state);
  }

  protected opened(): void {
    this.setState({ status: "open" });
    for (const fn of this.openListeners) fn();
  }

  protected failPending(code: RequestError["code"], message: string): void {
    for (const [rid, p] of this.pending) {
      clearTimeout(p.timer);
      this.pending.delete(rid);
      p.reject(new RequestError(code, message));
    }
  }

  /** Settles the request a reply belongs to, then tells every listener. */
  protected deliver(msg: ServerMessage): void {
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
