// Picks the carrier: a LiveKit room when the server offers LiveKit and the
// student is signed in (the token route needs the bearer token), else the
// WebSocket. Looks like one Transport to the controller; a move between
// carriers looks like a reconnect (the controller verifies again and reloads),
// which it already handles.
//
//   start: LiveKit enabled + stored token -> join the room; failing -> WebSocket
//          otherwise -> WebSocket; a sign-in on it -> join the room in the
//          background and move once the agent is ready (failing: stay)
//   room lost while in use -> WebSocket for the rest of the page's life
//   sign-out through the room -> WebSocket (the room belongs to the old session)
import type { ServerMessage } from "@tutor/protocol";
import type { LiveKitUnavailable } from "./livekit.js";
import type { ConnectionState, MessageListener, Outgoing, SpeechAudioListener, Transport, VoiceTrackListener } from "./transport.js";

export interface LiveKitTransport extends Transport {
  onFailed(fn: (err: LiveKitUnavailable) => void): () => void;
}

export interface SwitchOptions {
  websocket: Transport;
  /** A LiveKit transport for this bearer token (called only when LiveKit is enabled). */
  livekit: (bearer: string) => LiveKitTransport;
  /** Whether the server offers LiveKit (`/api/config` livekit.enabled); a failure counts as no. */
  livekitEnabled: () => Promise<boolean>;
  /** The stored session token, if the student is signed in. */
  storedToken: () => string | null;
  /** Told when the carrier changes or LiveKit is given up (logged by the app). */
  onEvent?: (event: string, detail?: string) => void;
}

export class TransportSwitch implements Transport {
  private active: Transport;
  private candidate: LiveKitTransport | null = null;
  private enabled = false;
  /** LiveKit failed on this page: the WebSocket is used from now on. */
  private givenUp = false;
  private running = false;
  private readonly messageListeners = new Set<MessageListener>();
  private readonly stateListeners = new Set<(s: ConnectionState) => void>();
  private readonly openListeners = new Set<() => void>();
  private readonly voiceTrackListeners = new Set<VoiceTrackListener>();
  private readonly ws: Transport;

  constructor(private readonly opts: SwitchOptions) {
    this.ws = opts.websocket;
    this.active = this.ws;
    this.attach(this.ws);
  }

  get kind(): Transport["kind"] {
    return this.active.kind;
  }

  get audioCarrier(): Transport["audioCarrier"] {
    return this.active.audioCarrier;
  }

  get connection(): ConnectionState {
    return this.active.connection;
  }

  get isOpen(): boolean {
    return this.active.isOpen;
  }

  onMessage(fn: MessageListener): () => void {
    this.messageListeners.add(fn);
    return () => this.messageListeners.delete(fn);
  }

  onState(fn: (s: ConnectionState) => void): () => void {
    this.stateListeners.add(fn);
    return () => this.stateListeners.delete(fn);
  }

  /** Only the WebSocket carries server-voice audio; in a LiveKit room the agent's track does. */
  onSpeechAudio(fn: SpeechAudioListener): () => void {
    return this.ws.onSpeechAudio((header, pcm) => {
      if (this.active === this.ws) fn(header, pcm);
    });
  }

  /** The agent's voice track of the room in use (a room joined in the background plays once it is promoted). */
  get voiceTrack(): MediaStreamTrack | null {
    return this.active.voiceTrack;
  }

  onVoiceTrack(fn: VoiceTrackListener): () => void {
    this.voiceTrackListeners.add(fn);
    return () => this.voiceTrackListeners.delete(fn);
  }

  private voiceTrackChanged(): void {
    for (const fn of this.voiceTrackListeners) fn(this.active.voiceTrack);
  }

  onOpen(fn: () => void): () => void {
    this.openListeners.add(fn);
    return () => this.openListeners.delete(fn);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    void this.opts.livekitEnabled().then(
      (enabled) => this.begin(enabled),
      () => this.begin(false),
    );
  }

  private begin(enabled: boolean): void {
    if (!this.running) return;
    this.enabled = enabled;
    const token = this.opts.storedToken();
    if (enabled && token) {
      const lk = this.makeLiveKit(token);
      this.active = lk;
      lk.start();
    } else {
      this.ws.start();
    }
  }

  stop(): void {
    this.running = false;
    this.candidate?.stop();
    this.candidate = null;
    const was = this.active;
    if (was !== this.ws) was.stop();
    this.ws.stop();
    this.active = this.ws;
    if (was !== this.ws) this.voiceTrackChanged();
  }

  reconnectNow(): void {
    this.active.reconnectNow();
  }

  send(message: Outgoing): string {
    return this.active.send(message);
  }

  async request(message: Outgoing, timeoutMs?: number): Promise<ServerMessage> {
    const via = this.active;
    try {
      return await via.request(message, timeoutMs);
    } finally {
      // The room was made for the session that just ended; the next student signs in over the WebSocket.
      if (message.type === "auth_request" && message.data.type === "logout" && via !== this.ws && this.active === via) {
        this.toWebSocket(via, "signed out");
      }
    }
  }

  sendAudio(pcm: Int16Array): void {
    this.active.sendAudio(pcm);
  }

  publishMicrophone(track: MediaStreamTrack): Promise<void> {
    return this.active.publishMicrophone(track);
  }

  unpublishMicrophone(): Promise<void> {
    return this.active.unpublishMicrophone();
  }

  /** Forwards what the active carrier says; the others are silent. */
  private attach(t: Transport): void {
    t.onMessage((msg, meta) => {
      if (t !== this.active) return;
      for (const fn of this.messageListeners) fn(msg, meta);
      if (t === this.ws) this.maybeUpgrade(msg);
    });
    t.onState((s) => {
      if (t === this.active) for (const fn of this.stateListeners) fn(s);
    });
    t.onVoiceTrack(() => {
      if (t === this.active) this.voiceTrackChanged();
    });
    t.onOpen(() => {
      if (t === this.candidate) {
        this.promote(this.candidate);
        return;
      }
      if (t === this.active) for (const fn of this.openListeners) fn();
    });
  }

  private makeLiveKit(bearer: string): LiveKitTransport {
    const lk = this.opts.livekit(bearer);
    this.attach(lk);
    lk.onFailed((err) => {
      this.opts.onEvent?.("livekit_failed", err.message);
      this.givenUp = true;
      if (lk === this.candidate) {
        this.candidate = null;
        return;
      }
      if (lk === this.active) this.toWebSocket(lk, err.message);
    });
    return lk;
  }

  /** Signed in over the WebSocket: move to LiveKit once its room is ready. */
  private maybeUpgrade(msg: ServerMessage): void {
    if (!this.enabled || this.givenUp || this.candidate || !this.running) return;
    if (msg.type !== "auth_response" || !msg.success || !msg.token || (msg.action !== "login" && msg.action !== "register")) return;
    this.candidate = this.makeLiveKit(msg.token);
    this.candidate.start();
  }

  private promote(lk: LiveKitTransport): void {
    this.candidate = null;
    this.active = lk;
    this.opts.onEvent?.("carrier", "livekit");
    this.ws.stop();
    this.voiceTrackChanged();
    for (const fn of this.stateListeners) fn(lk.connection);
    for (const fn of this.openListeners) fn();
  }

  private toWebSocket(from: Transport, reason: string): void {
    this.active = this.ws;
    this.opts.onEvent?.("carrier", `websocket (${reason})`);
    from.stop();
    this.voiceTrackChanged();
    if (!this.running) return;
    for (const fn of this.stateListeners) fn(this.ws.connection);
    this.ws.start();
  }
}
