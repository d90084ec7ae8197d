// The voice side of one connection: audio streams in, spoken questions out.
// Owned by a Session, which runs each question as an ordinary text turn.
//
//   frames -> VoiceInput (VAD + segmenter) -> utterance pieces
//          -> WAV -> speech-to-text (one at a time, in order)
//          -> `transcription` -> Session turn
//
// Barge-in: speech while an answer is generating, or while the browser says
// it is speaking one, interrupts the tutor (`barge_in`, running answer
// aborted). While the browser speaks, the speech must be sustained
// (bargeInWhilePlayingMs): shorter bursts are most likely the tutor's own
// voice leaking past echo cancellation, and are dropped, not transcribed.
import { MAX_TEXT_CHARS, type ServerMessage, type TeachingMode } from "@tutor/protocol";
import { isAbortError, TutorError } from "../errors.js";
import { systemClock, type Clock, type Logger, type SpeechToText, type VadFactory } from "../ports.js";
import { HINT_PREAMBLE, vocabularyHint } from "./hint.js";
import { VoiceTurnTimer, type VoiceLatency } from "./latency.js";
import { encodeWav } from "./pcm.js";
import type { Utterance } from "./segmenter.js";
import { voiceSettings, type VoiceSettings, type VoiceSettingsInput } from "./settings.js";
import { VoiceInput } from "./voice-input.js";

/** What a server with voice input passes to every Session. */
export interface VoiceDeps {
  /** Usually a RetryingSpeechToText around an adapter. */
  stt: SpeechToText;
  createVad: VadFactory;
  settings?: VoiceSettingsInput;
  /** Called once per answered voice turn (for metrics); also logged as `voice_latency`. */
  onLatency?: (latency: VoiceLatency) => void;
  clock?: Clock;
}

export const VOICE_NOT_CONFIGURED =
  "Voice input needs speech recognition on the server, and none is configured (an administrator can set " +
  "GROQ_API_KEY, or STT_BASE_URL and STT_MODEL). Use your browser's speech recognition, or type your question.";
export const NO_STREAM = "no audio stream is open: send audio_start before audio frames or audio_end";
export const DIDNT_CATCH = "Sorry, I didn't catch that. Please say it again, or type your question.";
export const STT_FAILED =
  "Sorry, I couldn't make out what you said: speech recognition is not answering right now. " +
  "Please try again in a moment, or type your question.";
export const NO_SPEECH = "I didn't hear any speech. Check that your microphone is on and not muted, then try again.";
export const TOO_FAST = "audio is arriving faster than real time; send the microphone's audio as it is recorded";
export const TOO_MANY_UTTERANCES = "you are speaking faster than I can listen: wait for the answer, then ask again";
export const VAD_FAILED = "Voice input stopped because of a problem on our side; please start the microphone again.";

export interface VoiceQuestion {
  text: string;
  conversationId: string | undefined;
  teachingMode: TeachingMode | undefined;
  requestId: string | undefined;
  /** Runs once the conversation is resolved, before the question is stored. */
  beforeRun(conversationId: string): void;
  /** Sees every message of the turn. */
  observe(m: ServerMessage): void;
}

/** What the voice side needs from its Session. */
export interface VoiceHost {
  send(m: ServerMessage): void;
  /** The answer being generated on this connection, if any. */
  runningTurn(): { conversationId: string | undefined } | undefined;
  /** Aborts the running answer (it stores what was said); does not wait. */
  cancelTurn(): void;
  /** Contents of the last `limit` messages of the conversation questions will go to, oldest first. */
  recentTexts(conversationId: string | undefined, limit: number): Promise<string[]>;
  /** Runs the question as a text turn; resolves when the answer has ended. */
  ask(q: VoiceQuestion): Promise<void>;
  log: Logger;
}

interface StreamOptions {
  conversationId: string | undefined;
  teachingMode: TeachingMode | undefined;
  requestId: string | undefined;
}

/** The question being spoken: pieces transcribed so far. */
interface Question {
  parts: string[];
  failed: unknown;
  hint: Promise<string> | undefined;
}

export class VoiceSession {
  readonly settings: VoiceSettings;
  readonly #deps: VoiceDeps;
  readonly #host: VoiceHost;
  readonly #clock: Clock;
  #input: VoiceInput | undefined;
  /** Transcriptions run one at a time, in the order the pieces were spoken. */
  #queue: Promise<void> = Promise.resolve();
  #question: Question = { parts: [], failed: undefined, hint: undefined };
  #abort = new AbortController();
  #playing = false;
  #playingMessageId: string | undefined;
  #talking = false;
  #talkStartedWhilePlaying = false;
  #bargedIn = false;
  /** The vocabulary hint, fetched as the student starts talking so the end of speech does not wait for it. */
  #nextHint: Promise<string> | undefined;
  #pendingTurns = new Set<Promise<void>>();
  /** Audio allowed ahead of real time (ms), refilled as time passes; see VOICE_DEFAULTS.audioBurstMs. */
  #burst: { ms: number; at: number } | undefined;
  #tooFast = false;
  #queued = 0;

  constructor(deps: VoiceDeps, host: VoiceHost) {
    this.#deps = deps;
    this.#host = host;
    this.#clock = deps.clock ?? systemClock;
    this.settings = voiceSettings(deps.settings);
  }

  /** Whether an audio stream is open. */
  get streaming(): boolean {
    return this.#input !== undefined;
  }

  /** audio_start. Synchronous, so frames sent right behind it are never refused. A previous stream is ended first. */
  start(opts: StreamOptions): void {
    const previous = this.#input;
    if (previous) {
      this.#input = undefined;
      void previous.end();
    }
    const stream = { ...opts };
    const input: VoiceInput = new VoiceInput(
      this.#deps.createVad,
      {
        speech: (talkMs) => this.#onSpeech(talkMs, stream),
        utterance: (u) => this.#onUtterance(u, stream),
        failed: (err) => {
          this.#host.log.error({ event: "vad_failed", err: describe(err) }, "voice activity detection failed");
          if (this.#input === input) this.#input = undefined;
          this.#host.send({ type: "error", code: "internal", message: VAD_FAILED, ...rid(stream) });
        },
      },
      this.settings,
      this.#clock,
    );
    this.#input = input;
  }

  /**
   * One binary frame. `error` is the reason it was refused; `ready` resolves
   * when the transport may read the next frame (backpressure).
   */
  audio(bytes: Uint8Array): { error?: string; limited?: { retryAfterMs: number }; ready: Promise<void> } {
    const input = this.#input;
    if (!input) return { error: NO_STREAM, ready: Promise.resolve() };
    // A token bucket of audio time, refilled at real time.
    const now = this.#clock.now();
    const cap = this.settings.audioBurstMs;
    const b = (this.#burst ??= { ms: cap, at: now });
    b.ms = Math.min(cap, b.ms + (now - b.at));
    b.at = now;
    const frameMs = (bytes.byteLength / 2 / this.settings.sampleRate) * 1000;
    // Once refused, audio stays refused until half the burst has refilled
    // (the sender slowed down), so a flood is not let through frame by frame.
    if (frameMs > b.ms || (this.#tooFast && b.ms < cap / 2)) {
      // Refused; said once per burst of refusals, not once per frame.
      if (this.#tooFast) return { ready: Promise.resolve() };
      this.#tooFast = true;
      return { error: TOO_FAST, limited: { retryAfterMs: frameMs - b.ms }, ready: Promise.resolve() };
    }
    this.#tooFast = false;
    b.ms -= frameMs;
    const r = input.push(bytes);
    if (!r.ok) return { error: r.message, ready: Promise.resolve() };
    return { ready: r.backlogged ? input.drained() : Promise.resolve() };
  }

  /** audio_end: completes the open utterance. Says so when the whole stream held no speech. */
  async end(requestId: string | undefined): Promise<void> {
    const input = this.#input;
    if (!input) throw new TutorError("invalid_message", NO_STREAM);
    this.#input = undefined;
    await input.end();
    if (!input.heardSpeech) {
      const r = requestId === undefined ? {} : { request_id: requestId };
      this.#host.send({ type: "transcription", text: "", final: true, ...r });
      this.#host.send({ type: "error", code: "invalid_message", message: NO_SPEECH, ...r });
    }
  }

  /** playback_state: the browser started or stopped speaking an answer. */
  playback(speaking: boolean, messageId?: string): void {
    this.#playing = speaking;
    this.#playingMessageId = speaking ? messageId : undefined;
  }

  /** Sign-out: drop the stream and pending transcriptions. */
  reset(): void {
    this.#input?.close();
    this.#input = undefined;
    this.#abort.abort();
    this.#abort = new AbortController();
    this.#question = { parts: [], failed: undefined, hint: undefined };
    this.#nextHint = undefined;
    this.#talking = false;
    this.#playing = false;
  }

  /** The connection closed. Resolves when voice turns it started have ended. */
  async close(): Promise<void> {
    this.reset();
    await Promise.allSettled([this.#queue, ...this.#pendingTurns]);
  }

  #onSpeech(talkMs: number, stream: StreamOptions): void {
    if (!this.#talking) {
      this.#talking = true;
      this.#talkStartedWhilePlaying = this.#playing;
      this.#bargedIn = false;
      this.#nextHint = this.#hint(stream);
    }
    if (this.#bargedIn) return;
    const turn = this.#host.runningTurn();
    if (!turn && !this.#playing) return;
    const sustained = this.#talkStartedWhilePlaying || this.#playing;
    if (talkMs < (sustained ? this.settings.bargeInWhilePlayingMs : this.settings.minSpeechMs)) return;
    this.#bargedIn = true;
    const conversationId = turn?.conversationId;
    this.#host.send({
      type: "barge_in",
      ...(conversationId ? { conversation_id: conversationId } : {}),
      ...(this.#playingMessageId ? { message_id: this.#playingMessageId } : {}),
      ...rid(stream),
    });
    this.#host.log.info({ event: "barge_in", talk_ms: Math.round(talkMs), while_playing: sustained, generating: Boolean(turn) }, "student spoke over the tutor");
    if (turn) this.#host.cancelTurn();
    // The browser stops speaking on barge_in; until it says so, do not count it as speaking.
    this.#playing = false;
    this.#playingMessageId = undefined;
  }

  #onUtterance(u: Utterance, stream: StreamOptions): void {
    const final = u.end !== "max_length";
    const dropped = this.#talkStartedWhilePlaying && !this.#bargedIn;
    if (final) this.#talking = false;
    if (dropped) {
      this.#host.log.debug({ event: "utterance_dropped", speech_ms: Math.round(u.speechMs) }, "short speech while the tutor spoke: ignored");
      return;
    }
    if (this.#queued >= this.settings.maxQueuedUtterances) {
      this.#host.log.warn({ event: "utterance_refused", queued: this.#queued }, "too many utterances waiting for speech-to-text");
      this.#host.send({ type: "error", code: "rate_limited", message: TOO_MANY_UTTERANCES, retry_after_s: 1, limit: "voice_queue", ...rid(stream) });
      return;
    }
    const signal = this.#abort.signal;
    this.#queued++;
    this.#queue = this.#queue.then(() => this.#transcribe(u, stream, final, signal)).finally(() => this.#queued--);
  }

  async #transcribe(u: Utterance, stream: StreamOptions, final: boolean, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return;
    const q = this.#question;
    const log = this.#host.log;
    if (q.failed === undefined) {
      try {
        if (!q.hint) {
          q.hint = this.#nextHint ?? this.#hint(stream);
          this.#nextHint = undefined;
        }
        const prompt = await q.hint;
        const started = this.#clock.now();
        const text = (await this.#deps.stt.transcribe(encodeWav(u.pcm, this.settings.sampleRate), { prompt, signal })).trim();
        log.info(
          { event: "transcribed", audio_ms: Math.round((u.pcm.length / this.settings.sampleRate) * 1000), took_ms: this.#clock.now() - started, chars: text.length, end: u.end },
          "utterance transcribed",
        );
        if (text) q.parts.push(text);
      } catch (err) {
        if (signal.aborted || isAbortError(err)) return;
        log.warn({ event: "stt_failed", err: describe(err) }, "transcription failed");
        q.failed = err;
      }
    }
    if (signal.aborted) return;
    const text = q.parts.join(" ").slice(0, MAX_TEXT_CHARS);
    if (!final) {
      // A long question in pieces: show what is understood so far.
      if (text && q.failed === undefined) this.#host.send({ type: "transcription", text, final: false, ...rid(stream) });
      return;
    }
    this.#question = { parts: [], failed: undefined, hint: undefined };
    if (q.failed !== undefined || !text) {
      this.#host.send({ type: "transcription", text: "", final: true, ...rid(stream) });
      const failed = q.failed !== undefined;
      this.#host.send({ type: "error", code: failed ? "llm_unavailable" : "invalid_message", message: failed ? STT_FAILED : DIDNT_CATCH, ...rid(stream) });
      return;
    }
    const timer = new VoiceTurnTimer(this.#clock, u.speechEndedAt);
    const turn = this.#host
      .ask({
        text,
        conversationId: stream.conversationId,
        teachingMode: stream.teachingMode,
        requestId: stream.requestId,
        beforeRun: (conversationId) => {
          timer.transcript();
          this.#host.send({ type: "transcription", text, final: true, conversation_id: conversationId, ...rid(stream) });
        },
        observe: (m) => timer.observe(m),
      })
      .then(() => this.#report(timer))
      .catch((err: unknown) => log.error({ event: "voice_turn_failed", err: describe(err) }, "voice turn failed"));
    this.#pendingTurns.add(turn);
    void turn.finally(() => this.#pendingTurns.delete(turn));
  }

  #hint(stream: StreamOptions): Promise<string> {
    const s = this.settings;
    // Only a hint: without the conversation's terms the question is still worth transcribing.
    return this.#host
      .recentTexts(stream.conversationId, s.hintMessages)
      .then((texts) => vocabularyHint(texts, s.hintMaxChars))
      .catch(() => HINT_PREAMBLE);
  }

  #report(timer: VoiceTurnTimer): void {
    const latency = timer.result();
    const rounded = Object.fromEntries(Object.entries(latency).map(([k, v]) => [k, Math.round(v)]));
    this.#host.log.info({ event: "voice_latency", ...rounded }, "voice turn latency");
    this.#deps.onLatency?.(latency);
  }
}

function rid(stream: StreamOptions): { request_id?: string } {
  return stream.requestId === undefined ? {} : { request_id: stream.requestId };
}

function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
