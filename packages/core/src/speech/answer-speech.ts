// Speech for one answer. The sentence chunker cuts the streamed Markdown
// into sentences; each becomes a `web_tts` message (the browser speaks it),
// or — with a server voice and a transport that carries audio — one
// `speech_audio` + PCM through a small pipeline:
//
//   sentence n   -> synthesise ------------> send (in order) -> client plays
//   sentence n+1 ->       synthesise ---------------------> send
//
// At most `maxInFlight` (2) sentences are being synthesised or waiting to be
// sent, so synthesis of the next sentence overlaps the playing of this one
// while the audio held here stays bounded. A failing, stalling or garbled
// voice costs the voice, not the answer: one `tts_error`, then this and every
// later sentence of the answer as `web_tts`. Aborting (cancel, barge-in, a
// new question) cancels the requests in flight and sends nothing more.
import type { ServerMessage } from "@tutor/protocol";
import { AUDIO_ENCODING } from "@tutor/protocol";
import type { LlmError } from "../errors.js";
import type { SpeechAudio } from "../ports.js";
import { SentenceChunker } from "./chunker.js";
import { toTtsError, type AudioSink, type ServerSpeech } from "./server-speech.js";

export interface TtsSettings {
  provider: string;
  voice: string;
  rate: number;
  pitch: number;
}

/** The server voice for one answer: the shared voice and where this answer's audio goes. */
export interface AnswerVoice {
  speech: ServerSpeech;
  sink: AudioSink;
}

/** What the student sees when the server voice gives up for an answer. */
export const TTS_FAILED_MESSAGE = "The tutor's voice is not available right now, so your browser reads the rest of this answer.";

interface Pending {
  seq: number;
  text: string;
  /** When the chunker completed the sentence (clock ms). */
  at: number;
  controller: AbortController;
  result: Promise<SpeechAudio | LlmError> | undefined;
}

export class AnswerSpeech {
  readonly #chunker = new SentenceChunker();
  #seq = 0;
  #started = false;
  #finished = false;
  #stopped = false;
  /** Server audio for this answer; undefined: web_tts (never configured, resting, or given up). */
  #voice: AnswerVoice | undefined;
  readonly #queue: Pending[] = [];
  #pumping: Promise<void> = Promise.resolve();
  #running = false;
  #firstAudioSent = false;
  /** Kept after a fall-back: audio already sent may still be playing when the answer is stopped. */
  readonly #sink: AudioSink | undefined;
  readonly #onAbort = () => this.#stop();
  /** Resolves when the answer is stopped: a transport that never drains must not hold a cancelled turn. */
  #resolveStopped!: () => void;
  readonly #stoppedNow = new Promise<void>((r) => (this.#resolveStopped = r));

  constructor(
    private readonly emit: (m: ServerMessage) => void,
    private readonly tts: TtsSettings,
    private readonly messageId: string,
    private readonly enabled: boolean,
    private readonly rid: { request_id?: string },
    voice: AnswerVoice | undefined,
    private readonly signal: AbortSignal,
  ) {
    this.#voice = voice && voice.speech.available() ? voice : undefined;
    this.#sink = this.#voice?.sink;
    if (this.#voice) signal.addEventListener("abort", this.#onAbort, { once: true });
  }

  /** Whether this answer is spoken by the server voice (so far). */
  get serverVoice(): boolean {
    return this.#voice !== undefined;
  }

  push(delta: string): void {
    if (this.enabled && !this.#stopped) this.#say(this.#chunker.push(delta));
  }

  /** The answer is complete: speak the rest; `tts_complete` follows the last sentence. */
  finish(): void {
    if (!this.enabled || this.#stopped) return;
    this.#say(this.#chunker.flush());
    this.#finished = true;
    this.#pump();
  }

  /** Resolves when everything of this answer has been sent (or it was stopped). */
  async done(): Promise<void> {
    while (this.#running) await this.#pumping;
    this.signal.removeEventListener("abort", this.#onAbort);
  }

  #say(sentences: string[]): void {
    const now = this.#voice?.speech.clock.now() ?? 0;
    for (const text of sentences) {
      if (!this.#started) {
        this.#started = true;
        const { provider, voice } = this.#names();
        const preview = text.length > 100 ? `${text.slice(0, 100)}...` : text;
        this.emit({ type: "tts_starting", text: preview, provider, voice, message_id: this.messageId, ...this.rid });
        this.emit({ type: "voice_info", voice, provider, ...this.rid });
        this.#voice?.speech.awaitPlay(this.messageId, now);
      }
      const seq = this.#seq++;
      if (!this.#voice) this.#webTts(text, seq);
      else this.#queue.push({ seq, text, at: now, controller: new AbortController(), result: undefined });
    }
    if (this.#voice) this.#pump();
  }

  #names(): { provider: string; voice: string } {
    return this.#voice ? { provider: this.#voice.speech.provider, voice: this.#voice.speech.tts.voice } : { provider: this.tts.provider, voice: this.tts.voice };
  }

  #webTts(text: string, seq: number): void {
    const { voice, rate, pitch } = this.tts;
    this.emit({ type: "web_tts", text, voice, rate, pitch, message_id: this.messageId, seq, ...this.rid });
  }

  /** Starts synthesis for the window, and the in-order sender when it is not running. */
  #pump(): void {
    const voice = this.#voice;
    if (voice) {
      const s = voice.speech;
      for (const p of this.#queue.slice(0, s.settings.maxInFlight)) {
        p.result ??= s.tts
          .synthesize(p.text, { speed: s.settings.speed, timeoutMs: s.settings.attemptTimeoutMs, signal: p.controller.signal })
          .catch((err: unknown) => toTtsError(err, s.tts.model));
      }
    }
    if (this.#running) return;
    this.#running = true;
    this.#pumping = this.#send();
  }

  // Any return of the loop clears #running in the same tick (finally runs before the first await yields),
  // so a sentence pushed right after starts a new loop.
  async #send(): Promise<void> {
    try {
      while (!this.#stopped) {
        const head = this.#queue[0];
        if (!head) {
          if (this.#finished) this.#complete();
          return;
        }
        const voice = this.#voice;
        if (!voice) return this.#fallBack();
        if (!head.result) return; // the next sentence has not been started (window full): #pump runs again
        const result = await head.result;
        if (this.#stopped) return;
        if (!("samples" in result)) {
          if (result.kind === "aborted") return;
          voice.speech.failed(result);
          this.#voice = undefined;
          this.emit({ type: "tts_error", message: TTS_FAILED_MESSAGE, ...this.rid });
          continue; // #fallBack on the next round speaks this sentence and the rest
        }
        voice.speech.succeeded();
        const header = {
          type: "speech_audio" as const,
          message_id: this.messageId,
          seq: head.seq,
          text: head.text,
          sample_rate: result.sampleRate,
          encoding: AUDIO_ENCODING as typeof AUDIO_ENCODING,
          ...this.rid,
        };
        try {
          const sending = voice.sink.play(header, result);
          // Per answer, its first sentence: complete -> its audio handed to the transport.
          if (!this.#firstAudioSent) voice.speech.observe("sent", voice.speech.clock.now() - head.at);
          this.#firstAudioSent = true;
          await Promise.race([sending, this.#stoppedNow]);
        } catch (err) {
          // The transport went away: nothing more can be heard of this answer.
          voice.speech.log.debug({ event: "audio_send_failed", err: String(err) }, "could not send speech audio");
          this.#stop();
          return;
        }
        this.#queue.shift();
        this.#pump();
      }
    } finally {
      this.#running = false;
    }
  }

  /** The voice gave up: everything not yet sent goes out as web_tts, in order. */
  #fallBack(): void {
    for (const p of this.#queue.splice(0)) {
      p.controller.abort();
      this.#webTts(p.text, p.seq);
    }
    if (this.#finished) this.#complete();
  }

  #complete(): void {
    if (!this.#started || this.#stopped) return;
    this.#stopped = true; // once
    const { provider, voice } = this.#names();
    this.emit({ type: "tts_complete", provider, voice, message_id: this.messageId, ...this.rid });
  }

  #stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#resolveStopped();
    for (const p of this.#queue.splice(0)) p.controller.abort();
    if (this.#firstAudioSent) this.#sink?.stop?.(this.messageId);
  }
}
