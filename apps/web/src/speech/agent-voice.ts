// The server voice in a LiveKit room: the agent speaks into its own audio
// track (apps/agent/src/voice-track.ts), and the page plays that track
// through a hidden audio element. The agent's `speech_audio` headers say
// which answer is audible; Stop, a new question or barge-in mutes the element
// for that answer (the agent stops it too, but its audio already in flight
// must not be heard), and the next answer's first sentence unmutes it.

/** The part of an audio element used here (tests pass a stand-in: jsdom has no MediaStream). */
export interface VoiceElement {
  volume: number;
  muted: boolean;
  pause(): void;
}

export type MakeVoiceElement = (track: MediaStreamTrack) => VoiceElement;

const makeAudioElement: MakeVoiceElement = (track) => {
  const el = new Audio();
  el.autoplay = true;
  el.srcObject = new MediaStream([track]);
  // Autoplay may be refused until the student interacts; the room is joined after signing in, which is one.
  void el.play().catch(() => undefined);
  return el;
};

export class AgentVoice {
  private el: VoiceElement | null = null;
  private volume = 1;
  private muted = false;

  constructor(private readonly makeElement: MakeVoiceElement = makeAudioElement) {}

  /** Plays `track` from now on (null: the room went away). */
  setTrack(track: MediaStreamTrack | null): void {
    this.el?.pause();
    this.el = track ? this.makeElement(track) : null;
    this.apply();
  }

  setVolume(volume: number): void {
    this.volume = volume;
    this.apply();
  }

  setMuted(muted: boolean): void {
    this.muted = muted;
    this.apply();
  }

  private apply(): void {
    if (!this.el) return;
    this.el.volume = this.volume;
    this.el.muted = this.muted;
  }
}
