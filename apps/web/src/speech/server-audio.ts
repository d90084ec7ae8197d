// Plays the server voice (`speech_audio` + PCM) gaplessly with Web Audio:
// each sentence becomes an AudioBuffer scheduled to start exactly where the
// previous one ends, through one gain node (volume). `stop()` stops every
// scheduled source at once (Stop, a new question, barge-in), so silence
// comes within one audio render quantum.
import type { ServerMessageOf } from "@tutor/protocol";

export type SpeechAudioHeader = ServerMessageOf<"speech_audio">;

interface Scheduled {
  source: AudioBufferSourceNode;
  messageId: string;
  endsAt: number;
}

/** A little lead so the first sentence is not clipped while the context wakes up. */
const START_LEAD_S = 0.05;

export class ServerAudioPlayer {
  private ctx: AudioContext | null = null;
  private gain: GainNode | null = null;
  private scheduled: Scheduled[] = [];
  private nextStart = 0;
  private volume = 1;
  private speed = 1;

  constructor(
    private readonly onChange: () => void,
    private readonly makeContext: () => AudioContext = () => new AudioContext(),
  ) {}

  /** The answer whose audio is playing (or scheduled), or null when silent. */
  get playingMessage(): string | null {
    return this.scheduled[0]?.messageId ?? null;
  }

  setVolume(volume: number): void {
    this.volume = volume;
    if (this.gain) this.gain.gain.value = volume;
  }

  /** Applies to sentences scheduled from now on (playbackRate). */
  setSpeed(speed: number): void {
    this.speed = speed;
  }

  play(header: SpeechAudioHeader, pcm: ArrayBuffer): void {
    const samples = new Int16Array(pcm, 0, pcm.byteLength >> 1);
    if (samples.length === 0) return;
    const ctx = this.context();
    if (ctx.state === "suspended") void ctx.resume();
    const buffer = ctx.createBuffer(1, samples.length, header.sample_rate);
    const channel = buffer.getChannelData(0);
    for (let i = 0; i < samples.length; i++) channel[i] = samples[i]! / 32768;
    const source = ctx.createBufferSource();
    source.buffer = buffer;
    source.playbackRate.value = this.speed;
    source.connect(this.gain!);
    const startAt = Math.max(this.nextStart, ctx.currentTime + (this.scheduled.length ? 0 : START_LEAD_S));
    const endsAt = startAt + buffer.duration / this.speed;
    this.nextStart = endsAt;
    const entry: Scheduled = { source, messageId: header.message_id, endsAt };
    this.scheduled.push(entry);
    source.onended = () => {
      const before = this.scheduled.length;
      this.scheduled = this.scheduled.filter((s) => s !== entry);
      if (this.scheduled.length !== before) this.onChange();
    };
    source.start(startAt);
    if (this.scheduled.length === 1) this.onChange();
  }

  /** Silence now: every scheduled sentence stops (of `messageIds`, or all when empty). */
  stop(messageIds: ReadonlySet<string> | null = null): void {
    const keep: Scheduled[] = [];
    for (const s of this.scheduled) {
      if (messageIds && !messageIds.has(s.messageId)) {
        keep.push(s);
        continue;
      }
      s.source.onended = null;
      try {
        s.source.stop();
      } catch {
        // already ended
      }
      s.source.disconnect();
    }
    const changed = keep.length !== this.scheduled.length;
    this.scheduled = keep;
    if (!keep.length) this.nextStart = 0;
    if (changed) this.onChange();
  }

  private context(): AudioContext {
    if (!this.ctx) {
      this.ctx = this.makeContext();
      this.gain = this.ctx.createGain();
      this.gain.gain.value = this.volume;
      this.gain.connect(this.ctx.destination);
    }
    return this.ctx;
  }
}
