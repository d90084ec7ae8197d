// Translates one LiveKit room to one core Session: the student's protocol
// messages (topic `tutor`) in, every server message out addressed to the
// student, and the student's microphone as 16 kHz mono PCM into the session's
// voice input. No tutoring decisions here (design rule 1).
//
// A message travels as one reliable data packet when it fits in
// MAX_PACKET_BYTES, else as a LiveKit text stream on the same topic (a whole
// conversation or a long answer can exceed what one packet may carry).
import {
  AudioStream,
  RoomEvent,
  TrackKind,
  TrackSource,
  type RemoteParticipant,
  type RemoteTrack,
  type RemoteTrackPublication,
  type Room,
  type TextStreamReader,
} from "@livekit/rtc-node";
import { Session, type Logger, type SessionDeps, type VerifiedToken } from "@tutor/core";
import { AUDIO_ENCODING, AUDIO_SAMPLE_RATE, LIVEKIT_TOPIC, MAX_FRAME_BYTES, type ServerMessage, type SessionEndReason } from "@tutor/protocol";
import { VoiceTrack } from "./voice-track.js";
/** 20 ms frames: the small end of the WebSocket transport's 20–100 ms, for a quick barge-in. */
const AUDIO_FRAME_MS = 20;
/** LiveKit's advice for reliable packets; browsers and the SFU negotiate more, but not always. */
export const MAX_PACKET_BYTES = 15_000;
/** Messages kept from before the session starts (the student may speak the moment we appear). */
const MAX_EARLY = 64;

export class RoomBridge {
  #session: Session | undefined;
  #voice = false;
  readonly #room: Room;
  readonly #identity: string;
  readonly #log: Logger;
  readonly #early: Uint8Array[] = [];
  #outbox: Promise<void> = Promise.resolve();
  #inbox: Promise<void> = Promise.resolve();
  readonly #streams = new Set<AudioStream>();
  #closed = false;
  #closing: Promise<void> | undefined;
  /** The tutor's voice (server text-to-speech configured): its own audio track. */
  #voiceTrack: VoiceTrack | undefined;

  /** Listens from now on (call before joining the room); messages wait until `start`. */
  constructor(room: Room, studentIdentity: string, logger: Logger) {
    this.#room = room;
    this.#identity = studentIdentity;
    this.#log = logger;
    room.on(RoomEvent.DataReceived, this.#onData);
    room.on(RoomEvent.TrackSubscribed, this.#onTrack);
    room.registerTextStreamHandler(LIVEKIT_TOPIC, this.#onTextStream);
  }

  get session(): Session | undefined {
    return this.#session;
  }

  /**
   * Serves `user` (already verified by the caller): one Session for the room, fed what arrived so far.
   * With `serverVoice` (TTS_PROVIDER=openai) answers are spoken into the agent's own audio track
   * (published before the ready signal) instead of as `web_tts` for the browser to speak.
   */
  async start(
    deps: SessionDeps,
    user: VerifiedToken,
    student: RemoteParticipant,
    onSessionEnded?: (reason: SessionEndReason) => void,
    options: { serverVoice?: boolean } = {},
  ): Promise<Session> {
    if (this.#session) return this.#session;
    if (options.serverVoice) {
      const track = new VoiceTrack(
        this.#room,
        {
          send: (m) => this.send(m),
          playback: (messageId) =>
            void this.#session?.handleValue({ type: "playback_state", speaking: messageId !== undefined, ...(messageId ? { message_id: messageId } : {}) }),
        },
        this.#log,
      );
      try {
        await track.publish();
        this.#voiceTrack = track;
      } catch (err) {
        // Costs the voice, not the room: the browser speaks the answers (web_tts).
        this.#log.warn({ err, event: "voice_track_failed" }, "could not publish the tutor's voice; the browser speaks instead");
        await track.close();
      }
    }
    const session = new Session(deps, {
      id: `livekit:${this.#room.name ?? "room"}`,
      address: `livekit:${this.#identity}`,
      send: (m) => this.send(m),
      preAuthenticated: user,
      onSessionEnded,
      ...(this.#voiceTrack ? { audio: this.#voiceTrack } : {}),
    });
    this.#session = session;
    this.#voice = deps.voice !== undefined;
    // "Signed in, ready": the student's cue to start sending. LiveKit announces a participant that
    // publishes nothing (this agent) up to 3 s late, so its arrival is no good as that cue.
    this.send({ type: "auth_response", action: "verify", success: true, user: user.user, expires_at: user.expires_at });
    for (const bytes of this.#early.splice(0)) this.#deliver(bytes);
    for (const pub of student.trackPublications.values()) {
      if (pub.track) this.#onTrack(pub.track, pub, student);
    }
    return session;
  }

  /** Sends one protocol message to the student, after everything sent before it. */
  send(message: ServerMessage): void {
    const text = JSON.stringify(message);
    const bytes = new TextEncoder().encode(text);
    this.#outbox = this.#outbox.then(async () => {
      const local = this.#room.localParticipant;
      if (!local || !this.#room.isConnected) return;
      try {
        if (bytes.byteLength <= MAX_PACKET_BYTES) {
          await local.publishData(bytes, { reliable: true, topic: LIVEKIT_TOPIC, destination_identities: [this.#identity] });
        } else {
          await local.sendText(text, { topic: LIVEKIT_TOPIC, destinationIdentities: [this.#identity] });
        }
      } catch (err) {
        this.#log.warn({ err, event: "data_send_failed", type: message.type, bytes: bytes.byteLength }, "could not send a message to the student");
      }
    });
  }

  /** Resolves once everything sent so far has left. */
  flushed(): Promise<void> {
    return this.#outbox;
  }

  /** Stops listening, ends the session (a running answer stops; what was said is stored) and flushes what was queued. */
  close(): Promise<void> {
    // Every caller waits for the same end: storage may only close after the session has stored what it had.
    this.#closing ??= (async () => {
      this.#closed = true;
      this.#room.off(RoomEvent.DataReceived, this.#onData);
      this.#room.off(RoomEvent.TrackSubscribed, this.#onTrack);
      this.#room.unregisterTextStreamHandler(LIVEKIT_TOPIC);
      for (const s of this.#streams) await s.cancel().catch(() => undefined);
      await this.#session?.close();
      await this.#voiceTrack?.close();
      await this.#outbox;
    })();
    return this.#closing;
  }

  readonly #onData = (payload: Uint8Array, participant?: RemoteParticipant, _kind?: unknown, topic?: string): void => {
    if (topic !== LIVEKIT_TOPIC || participant?.identity !== this.#identity) return;
    this.#receive(payload.slice());
  };

  readonly #onTextStream = (reader: TextStreamReader, from: { identity: string }): void => {
    if (from.identity !== this.#identity) {
      void reader.close();
      return;
    }
    void (async () => {
      // Read at most one byte past the frame limit: enough for the session to answer too_large.
      const encoder = new TextEncoder();
      const parts: Uint8Array[] = [];
      let size = 0;
      for await (const chunk of reader) {
        if (size > MAX_FRAME_BYTES) continue;
        const bytes = encoder.encode(chunk);
        parts.push(bytes);
        size += bytes.byteLength;
      }
      const all = new Uint8Array(Math.min(size, MAX_FRAME_BYTES + 1));
      let at = 0;
      for (const p of parts) {
        const take = p.subarray(0, all.byteLength - at);
        all.set(take, at);
        at += take.byteLength;
        if (at >= all.byteLength) break;
      }
      this.#receive(all);
    })().catch((err: unknown) => this.#log.warn({ err, event: "text_stream_failed" }, "could not read a message from the student"));
  };

  #receive(bytes: Uint8Array): void {
    if (this.#closed) return;
    if (!this.#session) {
      if (this.#early.length < MAX_EARLY) this.#early.push(bytes);
      return;
    }
    this.#deliver(bytes);
  }

  #deliver(bytes: Uint8Array): void {
    // The WebSocket hands frames over in arrival order without waiting for a
    // turn to finish; so does this (handleFrame returns once long work such
    // as a turn has been registered).
    const session = this.#session!;
    this.#inbox = this.#inbox.then(() => {
      void session.handleFrame(bytes);
    });
  }

  // A published microphone is an open audio stream: subscribing is the room's
  // `audio_start`, the track going away its `audio_end`. The student may still
  // send `audio_start` on the data channel to say which conversation or
  // teaching mode a spoken question is for (it restarts the stream).
  readonly #onTrack = (track: RemoteTrack, pub: RemoteTrackPublication, participant: RemoteParticipant): void => {
    const session = this.#session;
    if (!session || this.#closed) return; // start() picks up tracks subscribed before it
    if (participant.identity !== this.#identity || track.kind !== TrackKind.KIND_AUDIO) return;
    if (pub.source !== TrackSource.SOURCE_MICROPHONE) return;
    void session.handleValue({ type: "audio_start", sample_rate: AUDIO_SAMPLE_RATE, encoding: AUDIO_ENCODING });
    // Without speech recognition the session has refused audio_start once (with the reason); no frame would be taken.
    if (!this.#voice) return;
    const stream = new AudioStream(track, { sampleRate: AUDIO_SAMPLE_RATE, numChannels: 1, frameSizeMs: AUDIO_FRAME_MS });
    this.#streams.add(stream);
    this.#log.info({ event: "mic_subscribed", track: track.sid }, "listening to the student's microphone");
    void this.#pump(session, stream).finally(() => {
      this.#streams.delete(stream);
      if (!this.#closed) void session.handleValue({ type: "audio_end" });
    });
  };

  async #pump(session: Session, stream: AudioStream): Promise<void> {
    try {
      for await (const frame of stream) {
        if (this.#closed) break;
        // Int16Array in host order; every platform rtc-node ships for is little-endian, as s16le wants.
        // Awaiting is the backpressure: frames wait in the stream while the detector catches up.
        await session.handleAudio(new Uint8Array(frame.data.buffer, frame.data.byteOffset, frame.data.byteLength));
      }
    } catch (err) {
      if (!this.#closed) this.#log.warn({ err, event: "mic_stream_failed" }, "microphone stream ended with an error");
    }
  }
}
