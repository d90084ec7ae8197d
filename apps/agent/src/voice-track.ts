// The server voice in a room: the agent's own audio track. Each sentence the
// core's AnswerSpeech hands over (`speech_audio` header + PCM, 24 kHz from
// the speech server) goes to the student as the header on the data channel
// and the audio into the track, resampled to the track's rate, in 20 ms
// frames. The source's queue is short (QUEUE_MS), so `play` resolves about
// when the sentence is a breath from being heard: that is the backpressure
// that keeps the next sentence waiting in the core, and what makes a stop
// (barge-in, cancel, a new question) quick — the queue is cleared and the
// frames not yet captured are dropped.
//
// The agent, not the student's browser, knows when the tutor is audible, so
// it reports `playback_state` to the session itself (the hands-free echo
// rule and the "played" latency use it, as with a browser's report).
import {
  AudioFrame,
  AudioResampler,
  AudioSource,
  LocalAudioTrack,
  TrackPublishOptions,
  TrackSource,
  type LocalTrackPublication,
  type Room,
} from "@livekit/rtc-node";
import type { AudioSink, Logger, SpeechAudio } from "@tutor/core";
import type { ServerMessage, ServerMessageOf } from "@tutor/protocol";

/** WebRTC's native rate (Opus): no resampling in the SFU or the browser. */
export const TRACK_SAMPLE_RATE = 48_000;
/** The agent's track, by name (clients tell it from a student's microphone by its publisher, the agent). */
export const VOICE_TRACK_NAME = "tutor-voice";
const FRAME_MS = 20;
const FRAME_SAMPLES = (TRACK_SAMPLE_RATE * FRAME_MS) / 1000;
/** Audio buffered in the source beyond what is playing: small, so a stop is heard at once. */
const QUEUE_MS = 200;

export interface VoiceTrackHost {
  /** Sends a protocol message to the student (the `speech_audio` header). */
  send(message: ServerMessage): void;
  /** The tutor became audible (an answer's id) or silent (undefined). */
  playback(messageId: string | undefined): void;
}

export class VoiceTrack implements AudioSink {
  readonly #source = new AudioSource(TRACK_SAMPLE_RATE, 1, QUEUE_MS);
  readonly #track = LocalAudioTrack.createAudioTrack(VOICE_TRACK_NAME, this.#source);
  #publication: LocalTrackPublication | undefined;
  /** Bumped by every stop: frames of an older generation are not captured. */
  #generation = 0;
  /** The answer audible now (reported to the session). */
  #playing: string | undefined;
  /** Sentences handed over and not yet played out. */
  #pending = 0;
  #closed = false;

  constructor(
    private readonly room: Room,
    private readonly host: VoiceTrackHost,
    private readonly log: Logger,
  ) {}

  async publish(): Promise<void> {
    const local = this.room.localParticipant;
    if (!local) throw new Error("not connected to the room");
    this.#publication = await local.publishTrack(this.#track, new TrackPublishOptions({ source: TrackSource.SOURCE_MICROPHONE }));
    this.log.info({ event: "voice_track_published", track: this.#publication.sid }, "publishing the tutor's voice");
  }

  async play(header: ServerMessageOf<"speech_audio">, audio: SpeechAudio): Promise<void> {
    if (this.#closed) return;
    const generation = this.#generation;
    this.host.send(header);
    const frames = resample(audio);
    this.#pending++;
    try {
      for (const frame of frames) {
        if (generation !== this.#generation || this.#closed) return;
        if (this.#playing !== header.message_id) {
          this.#playing = header.message_id;
          this.host.playback(header.message_id);
        }
        await this.#source.captureFrame(frame);
      }
    } finally {
      this.#pending--;
    }
    // The last frame is queued; once it has played and nothing followed, the tutor is silent.
    void this.#source.waitForPlayout().then(() => {
      if (generation === this.#generation && this.#pending === 0) this.#silent();
    });
  }

  /** An answer was stopped: what is queued is dropped now (frames of sentences in hand are not captured). */
  stop(): void {
    this.#generation++;
    if (!this.#closed) this.#source.clearQueue();
    this.#silent();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.stop();
    this.#closed = true;
    if (this.#publication?.sid) await this.room.localParticipant?.unpublishTrack(this.#publication.sid).catch(() => undefined);
    await this.#track.close().catch(() => undefined);
    await this.#source.close().catch(() => undefined);
  }

  #silent(): void {
    if (this.#playing === undefined) return;
    this.#playing = undefined;
    this.host.playback(undefined);
  }
}

/** The sentence at the track's rate, cut into 20 ms frames (the last one padded with silence). */
export function resample(audio: SpeechAudio): AudioFrame[] {
  let samples: Int16Array = audio.samples;
  const rate: number = audio.sampleRate;
  if (rate !== TRACK_SAMPLE_RATE) {
    const resampler = new AudioResampler(rate, TRACK_SAMPLE_RATE, 1);
    try {
      const out = [...resampler.push(new AudioFrame(audio.samples, rate, 1, audio.samples.length)), ...resampler.flush()];
      samples = new Int16Array(out.reduce((n, f) => n + f.samplesPerChannel, 0));
      let at = 0;
      for (const f of out) {
        samples.set(f.data.subarray(0, f.samplesPerChannel), at);
        at += f.samplesPerChannel;
      }
    } finally {
      resampler.close();
    }
  }
  const frames: AudioFrame[] = [];
  for (let i = 0; i < samples.length; i += FRAME_SAMPLES) {
    const chunk = new Int16Array(FRAME_SAMPLES);
    chunk.set(samples.subarray(i, Math.min(i + FRAME_SAMPLES, samples.length)));
    frames.push(new AudioFrame(chunk, TRACK_SAMPLE_RATE, 1, FRAME_SAMPLES));
  }
  return frames;
}
