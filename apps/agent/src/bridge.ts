// Translates one LiveKit room to one core Session: the student's data packets
// (topic `tutor`) in, every server message out as a data packet addressed to
// the student, and the student's microphone as 16 kHz mono PCM into the
// session's voice input. No tutoring decisions here (design rule 1).
import {
  AudioStream,
  RoomEvent,
  TrackKind,
  TrackSource,
  type RemoteParticipant,
  type RemoteTrack,
  type RemoteTrackPublication,
  type Room,
} from "@livekit/rtc-node";
import { Session, type Logger, type SessionDeps, type VerifiedToken } from "@tutor/core";
import { LIVEKIT_TOPIC, type ServerMessage } from "@tutor/protocol";

/** What the voice pipeline expects (PROTOCOL.md, Voice). */
export const AUDIO_SAMPLE_RATE = 16_000;
/** 20 ms frames: the small end of the WebSocket transport's 20–100 ms, for a quick barge-in. */
const AUDIO_FRAME_MS = 20;

export interface BridgeOptions {
  room: Room;
  /** The one participant this session serves; everything from anyone else is ignored. */
  student: RemoteParticipant;
  user: VerifiedToken;
  deps: SessionDeps;
  logger: Logger;
  /** Data packets that arrived from the student before the bridge existed, in order. */
  early?: Uint8Array[];
}

export class RoomBridge {
  readonly session: Session;
  readonly #room: Room;
  readonly #identity: string;
  readonly #log: Logger;
  #outbox: Promise<void> = Promise.resolve();
  #inbox: Promise<void> = Promise.resolve();
  readonly #streams = new Set<AudioStream>();
  #closed = false;

  constructor(opts: BridgeOptions) {
    this.#room = opts.room;
    this.#identity = opts.student.identity;
    this.#log = opts.logger;
    this.session = new Session(opts.deps, {
      id: `livekit:${opts.room.name ?? "room"}`,
      address: `livekit:${this.#identity}`,
      send: (m) => this.#publish(m),
      preAuthenticated: opts.user,
    });
    this.#room.on(RoomEvent.DataReceived, this.#onData);
    this.#room.on(RoomEvent.TrackSubscribed, this.#onTrack);
    for (const packet of opts.early ?? []) this.#receive(packet);
    for (const pub of opts.student.trackPublications.values()) {
      if (pub.track) this.#onTrack(pub.track, pub, opts.student);
    }
  }

  /** Stops listening, ends the session (a running answer stops; what was said is stored) and flushes what was queued. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#room.off(RoomEvent.DataReceived, this.#onData);
    this.#room.off(RoomEvent.TrackSubscribed, this.#onTrack);
    for (const s of this.#streams) await s.cancel().catch(() => undefined);
    await this.session.close();
    await this.#outbox;
  }

  readonly #onData = (payload: Uint8Array, participant?: RemoteParticipant, _kind?: unknown, topic?: string): void => {
    if (topic !== LIVEKIT_TOPIC || participant?.identity !== this.#identity) return;
    this.#receive(payload);
  };

  #receive(payload: Uint8Array): void {
    // The WebSocket delivers frames in order and the session handles each as
    // it comes; handing them over in arrival order keeps the same semantics
    // (handleFrame only awaits the start of long work such as a turn).
    const bytes = payload.slice();
    this.#inbox = this.#inbox.then(() => {
      void this.session.handleFrame(bytes);
    });
  }

  readonly #onTrack = (track: RemoteTrack, pub: RemoteTrackPublication, participant: RemoteParticipant): void => {
    if (participant.identity !== this.#identity || track.kind !== TrackKind.KIND_AUDIO) return;
    if (pub.source !== TrackSource.SOURCE_MICROPHONE) return;
    const stream = new AudioStream(track, { sampleRate: AUDIO_SAMPLE_RATE, numChannels: 1, frameSizeMs: AUDIO_FRAME_MS });
    this.#streams.add(stream);
    this.#log.info({ event: "mic_subscribed", track: track.sid }, "listening to the student's microphone");
    void this.#pump(stream).finally(() => this.#streams.delete(stream));
  };

  async #pump(stream: AudioStream): Promise<void> {
    try {
      for await (const frame of stream) {
        if (this.#closed) break;
        // Int16Array in host order; every platform rtc-node ships for is little-endian, as s16le wants.
        const pcm = new Uint8Array(frame.data.buffer, frame.data.byteOffset, frame.data.byteLength);
        await this.session.handleAudio(pcm);
      }
    } catch (err) {
      if (!this.#closed) this.#log.warn({ err, event: "mic_stream_failed" }, "microphone stream ended with an error");
    }
  }

  #publish(message: ServerMessage): void {
    if (this.#closed) return;
    const bytes = new TextEncoder().encode(JSON.stringify(message));
    // One chain: reliable packets go out in the order the session emitted them.
    this.#outbox = this.#outbox.then(async () => {
      const local = this.#room.localParticipant;
      if (!local || !this.#room.isConnected) return;
      try {
        await local.publishData(bytes, { reliable: true, topic: LIVEKIT_TOPIC, destination_identities: [this.#identity] });
      } catch (err) {
        this.#log.warn({ err, event: "data_send_failed", type: message.type, bytes: bytes.byteLength }, "could not send a message to the student");
      }
    });
  }
}
