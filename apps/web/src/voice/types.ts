// Shapes shared by the microphone capture and the voice controller, kept apart
// so tests (and the first page load) never load the AudioWorklet module.

export type MicErrorKind = "permission" | "no_device" | "busy" | "insecure" | "unsupported" | "failed";

export class MicError extends Error {
  constructor(
    readonly kind: MicErrorKind,
    message: string,
  ) {
    super(message);
    this.name = "MicError";
  }
}

export interface MicHandle {
  /** The microphone track (LiveKit publishes it). */
  readonly track: MediaStreamTrack;
  /** Releases the microphone (the browser's recording indicator goes off). */
  stop(): void;
}

export interface MicCallbacks {
  /** 20 ms of 16 kHz mono s16 samples and their RMS (0..1). */
  onFrame(pcm: Int16Array, rms: number): void;
  /** The device went away (unplugged, permission revoked). */
  onEnded(): void;
}

/** Opens the microphone; rejects with a MicError the student can act on. */
export type MicOpener = (callbacks: MicCallbacks) => Promise<MicHandle>;

/** The parts of the Web Speech API's SpeechRecognition the app uses (not in TypeScript's DOM types). */
export interface RecognitionLike {
  lang: string;
  continuous: boolean;
  interimResults: boolean;
  onresult: ((ev: { resultIndex: number; results: ArrayLike<ArrayLike<{ transcript: string }> & { isFinal: boolean }> }) => void) | null;
  onerror: ((ev: { error: string }) => void) | null;
  onend: (() => void) | null;
  onspeechstart?: (() => void) | null;
  start(): void;
  stop(): void;
  abort(): void;
}

export type RecognitionCtor = new () => RecognitionLike;

/** The browser's SpeechRecognition (webkit-prefixed in Chrome and Safari), if it has one. */
export function browserRecognition(): RecognitionCtor | undefined {
  const g = globalThis as { SpeechRecognition?: RecognitionCtor; webkitSpeechRecognition?: RecognitionCtor };
  return g.SpeechRecognition ?? g.webkitSpeechRecognition;
}
