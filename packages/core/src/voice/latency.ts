// Latency of one voice turn, in the four spans the student feels:
//   end of speech -> transcript (includes the silence that proves the end),
//   transcript -> first answer token, first token -> first speech chunk,
//   end of speech -> first speech chunk (the whole wait), and with a server
//   voice end of speech -> first audio sent (speech_audio).
// "End of speech" is when the audio of the last speech frame arrived.
import type { ServerMessage } from "@tutor/protocol";
import type { Clock } from "../ports.js";

export interface VoiceLatency {
  endOfSpeechToTranscriptMs: number;
  /** Absent when the turn streamed no text (e.g. cancelled first). */
  transcriptToFirstTokenMs?: number;
  firstTokenToFirstSpeechMs?: number;
  endOfSpeechToFirstSpeechMs?: number;
  /** With a server voice: end of speech -> the first sentence's audio handed to the transport. */
  endOfSpeechToFirstAudioMs?: number;
}

export class VoiceTurnTimer {
  #transcriptAt: number | undefined;
  #firstTokenAt: number | undefined;
  #firstSpeechAt: number | undefined;
  #firstAudioAt: number | undefined;

  constructor(
    private readonly clock: Clock,
    /** Clock time the audio of the last speech frame arrived. */
    readonly endOfSpeechAt: number,
  ) {}

  transcript(): void {
    this.#transcriptAt ??= this.clock.now();
  }

  /** Watches the turn's messages for its first token and first speech chunk. */
  observe(m: ServerMessage): void {
    if (m.type === "ai_response_delta") this.#firstTokenAt ??= this.clock.now();
    else if (m.type === "web_tts") this.#firstSpeechAt ??= this.clock.now();
    else if (m.type === "speech_audio") {
      this.#firstSpeechAt ??= this.clock.now();
      this.#firstAudioAt ??= this.clock.now();
    }
  }

  result(): VoiceLatency {
    const eos = this.endOfSpeechAt;
    const t = this.#transcriptAt ?? this.clock.now();
    const out: VoiceLatency = { endOfSpeechToTranscriptMs: t - eos };
    if (this.#firstTokenAt !== undefined) out.transcriptToFirstTokenMs = this.#firstTokenAt - t;
    if (this.#firstSpeechAt !== undefined) {
      out.endOfSpeechToFirstSpeechMs = this.#firstSpeechAt - eos;
      // A rejected question is spoken without tokens: only the whole wait applies.
      if (this.#firstTokenAt !== undefined) out.firstTokenToFirstSpeechMs = this.#firstSpeechAt - this.#firstTokenAt;
    }
    if (this.#firstAudioAt !== undefined) out.endOfSpeechToFirstAudioMs = this.#firstAudioAt - eos;
    return out;
  }
}
