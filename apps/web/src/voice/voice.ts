// Voice input: the microphone's state machine and the live transcript.
//
//   off --press / hands-free on--> starting --mic open, stream started--> listening
//   listening --release (push-to-talk)--> finishing --final transcript / error / 20 s--> off
//   listening --hands-free off, error, disconnect--> off
//
// Engines: "server" streams the microphone to the server's VAD + STT (frames
// on the WebSocket, a published track on LiveKit); "browser" uses the
// browser's SpeechRecognition and sends each final result as a text question;
// "none" leaves the button disabled with what to configure.
import { AUDIO_ENCODING, AUDIO_SAMPLE_RATE, type PublicConfig, type ServerMessage, type TeachingMode } from "@tutor/protocol";
import { RequestError, type Transport } from "../protocol/transport.js";
import { meterLevel } from "./pcm.js";
import { MicError, browserRecognition, type MicHandle, type MicOpener, type RecognitionCtor, type RecognitionLike } from "./types.js";

export type MicStatus = "off" | "starting" | "listening" | "finishing";
export type MicMode = "push" | "hands_free";
export type VoiceEngine = "server" | "browser" | "none";

export interface Transcript {
  text: string;
  final: boolean;
}

export interface VoiceSnapshot {
  engine: VoiceEngine;
  /** Why the microphone cannot be used (the button's tooltip), or null. */
  unavailable: string | null;
  status: MicStatus;
  mode: MicMode;
  transcript: Transcript | null;
  error: string | null;
}

/** What the voice side needs from the app controller. */
export interface VoiceHost {
  transport(): Transport;
  ready(): boolean;
  currentConversation(): { id: string | null; mode: TeachingMode };
  /** Subscribe to app state changes (conversation switches, sign-out, disconnects). */
  subscribe(fn: () => void): () => void;
  /** The open conversation's id, creating one for the mode when none is open. */
  ensureConversation(): Promise<string | null>;
  /** A text question (browser recognition); returns an error to show, or null when sent. */
  ask(text: string): string | null;
  /** The server heard a question and runs it as a turn (show it as pending). */
  spokenTurn(requestId: string | undefined, conversationId: string | undefined, text: string): void;
}

export interface VoiceOptions {
  openMic?: MicOpener;
  recognition?: RecognitionCtor | undefined | null;
  /** How long to wait for the transcript after push-to-talk ends. */
  finishTimeoutMs?: number;
}

export const NO_VOICE_CONFIGURED =
  "Voice input is not available: the server has no speech recognition configured (an administrator can set " +
  "STT_BASE_URL and STT_MODEL, or GROQ_API_KEY) and this browser has no speech recognition of its own. Type your question instead.";

const defaultOpenMic: MicOpener = async (callbacks) => (await import("./mic.js")).openMicrophone(callbacks);

const RECOGNITION_ERRORS: Record<string, string> = {
  "not-allowed": "Microphone access is blocked. Allow the microphone for this site in the browser's site settings, then try again.",
  "service-not-allowed": "This browser does not allow its speech recognition here. Type your question instead.",
  "audio-capture": "No microphone was found. Connect one, then try again.",
  "no-speech": "I didn't hear any speech. Check that your microphone is on and not muted, then try again.",
  network: "The browser's speech recognition needs a network connection and could not reach its service.",
  "language-not-supported": "The browser's speech recognition does not support your language.",
};

export class VoiceInput {
  private snapshot: VoiceSnapshot;
  private readonly listeners = new Set<() => void>();
  private readonly levelListeners = new Set<() => void>();
  private level = 0;
  private readonly openMic: MicOpener;
  private readonly Recognition: RecognitionCtor | undefined;
  private readonly finishTimeoutMs: number;
  /** Bumped by every start and stop: late completions of an older start are ignored. */
  private gen = 0;
  private mic: MicHandle | null = null;
  private recognition: RecognitionLike | null = null;
  private carrier: Transport | null = null;
  /** Request ids of our audio_start/audio_end: the server's voice replies carry them. */
  private readonly voiceRids = new Set<string>();
  private streamConversation: string | null = null;
  private released = false;
  private finishTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly host: VoiceHost,
    options: VoiceOptions = {},
  ) {
    this.openMic = options.openMic ?? defaultOpenMic;
    this.Recognition = options.recognition === undefined ? browserRecognition() : (options.recognition ?? undefined);
    this.finishTimeoutMs = options.finishTimeoutMs ?? 20_000;
    this.snapshot = { engine: "none", unavailable: "Checking whether voice input is available…", status: "off", mode: "push", transcript: null, error: null };
    host.subscribe(() => this.onAppChange());
  }

  subscribe = (fn: () => void): (() => void) => {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  };

  getSnapshot = (): VoiceSnapshot => this.snapshot;

  /** The meter's level (0..1) has its own subscription: it changes 50 times a second. */
  subscribeLevel = (fn: () => void): (() => void) => {
    this.levelListeners.add(fn);
    return () => this.levelListeners.delete(fn);
  };

  getLevel = (): number => this.level;

  /** `/api/config` arrived: which engine to use. */
  configure(config: PublicConfig): void {
    let engine: VoiceEngine = "none";
    let unavailable: string | null = null;
    if (config.stt.provider === "server") engine = "server";
    else if (this.Recognition) engine = "browser";
    else unavailable = NO_VOICE_CONFIGURED;
    if (engine !== this.snapshot.engine && this.snapshot.status !== "off") this.stop();
    this.update({ engine, unavailable });
  }

  /** Push-to-talk pressed (mic button held, or Space). */
  press(): void {
    if (this.snapshot.status !== "off") return;
    void this.begin("push");
  }

  /** Push-to-talk released: the question is complete. */
  release(): void {
    if (this.snapshot.mode !== "push") return;
    const status = this.snapshot.status;
    if (status === "starting") {
      // Let go before the microphone was even open: nothing was said.
      this.released = true;
      return;
    }
    if (status === "listening") this.finish();
  }

  /** Hands-free on/off: keep listening, the server's detector finds each question. */
  toggleHandsFree(): void {
    if (this.snapshot.status !== "off" && this.snapshot.mode === "hands_free") {
      this.stop();
      return;
    }
    if (this.snapshot.status !== "off") this.stop();
    void this.begin("hands_free");
  }

  /** The button was used while the microphone cannot be: say why. */
  explain(reason: string): void {
    this.update({ error: reason });
  }

  dismissError(): void {
    this.update({ error: null });
  }

  /** Turn the microphone off now (sign-out, errors, hands-free off). */
  stop(): void {
    this.gen++;
    const wasStreaming = this.mic !== null || this.recognition !== null;
    this.endStream(false);
    if (wasStreaming || this.snapshot.status !== "off") this.update({ status: "off" });
  }

  /**
   * A server message: transcripts and the errors of our audio stream are ours.
   * Returns true when the message was handled here (the app shows nothing else for it).
   */
  onServerMessage(msg: ServerMessage): boolean {
    if (msg.type === "transcription") {
      if (!msg.final) {
        this.update({ transcript: { text: msg.text, final: false } });
        return true;
      }
      if (msg.text) {
        this.update({ transcript: { text: msg.text, final: true } });
        this.host.spokenTurn(msg.request_id, msg.conversation_id, msg.text);
      }
      if (this.snapshot.status === "finishing") this.settle();
      return true;
    }
    if (msg.type === "error" && this.isVoiceError(msg)) {
      this.update({ error: msg.message, transcript: null });
      if (this.snapshot.status === "finishing") this.settle();
      return true;
    }
    return false;
  }

  private isVoiceError(msg: ServerMessage & { type: "error" }): boolean {
    if (msg.request_id !== undefined) return this.voiceRids.has(msg.request_id);
    // LiveKit: the agent opens the stream itself when our track arrives, so its voice errors carry no request id.
    return (
      this.carrier?.audioCarrier === "track" &&
      this.snapshot.status !== "off" &&
      (msg.code === "invalid_message" || msg.code === "llm_unavailable" || msg.code === "internal")
    );
  }

  private update(patch: Partial<VoiceSnapshot>): void {
    const next = { ...this.snapshot, ...patch };
    const prev = this.snapshot;
    if ((Object.keys(next) as (keyof VoiceSnapshot)[]).every((k) => next[k] === prev[k])) return;
    this.snapshot = next;
    for (const l of this.listeners) l();
  }

  private setLevel(level: number): void {
    // Quantised: the meter redraws only when it would look different.
    const q = Math.round(level * 20) / 20;
    if (q === this.level) return;
    this.level = q;
    for (const l of this.levelListeners) l();
  }

  private async begin(mode: MicMode): Promise<void> {
    const { engine, unavailable } = this.snapshot;
    if (engine === "none") {
      this.update({ error: unavailable ?? NO_VOICE_CONFIGURED });
      return;
    }
    if (!this.host.ready()) {
      this.update({ error: "Not connected to the server yet. Try again in a moment." });
      return;
    }
    const gen = ++this.gen;
    this.released = false;
    this.update({ status: "starting", mode, error: null, transcript: null });
    try {
      if (engine === "browser") this.startRecognition(mode);
      else await this.startServerStream(gen);
    } catch (err) {
      if (gen !== this.gen) return;
      this.endStream(false);
      this.update({ status: "off", error: err instanceof MicError || err instanceof Error ? err.message : String(err) });
      return;
    }
    if (gen !== this.gen) return;
    if (this.released) {
      // A click, not a hold: nothing was said yet.
      this.endStream(false);
      this.update({ status: "off", error: "Hold the microphone button (or Space) while you speak, or turn on Hands-free." });
      return;
    }
    this.update({ status: "listening" });
  }

  private async startServerStream(gen: number): Promise<void> {
    const conversationId = await this.host.ensureConversation();
    if (gen !== this.gen) return;
    const mic = await this.openMic({
      onFrame: (pcm, frameRms) => this.onFrame(pcm, frameRms),
      onEnded: () => {
        this.stop();
        this.update({ error: "The microphone stopped (it was unplugged or access was withdrawn)." });
      },
    });
    if (gen !== this.gen) {
      mic.stop();
      return;
    }
    this.mic = mic;
    if (this.released) return;
    const transport = this.host.transport();
    this.carrier = transport;
    this.streamConversation = conversationId;
    if (transport.audioCarrier === "frames") {
      this.sendStart(transport, conversationId);
    } else {
      await transport.publishMicrophone(mic.track);
    }
  }

  private sendStart(transport: Transport, conversationId: string | null): void {
    const rid = transport.send({
      type: "audio_start",
      sample_rate: AUDIO_SAMPLE_RATE,
      encoding: AUDIO_ENCODING,
      teaching_mode: this.host.currentConversation().mode,
      ...(conversationId ? { conversation_id: conversationId } : {}),
    });
    this.voiceRids.add(rid);
  }

  private onFrame(pcm: Int16Array, frameRms: number): void {
    this.setLevel(meterLevel(frameRms));
    const t = this.carrier;
    if (!t || t.audioCarrier !== "frames" || this.snapshot.status === "starting") return;
    try {
      t.sendAudio(pcm);
    } catch (err) {
      if (err instanceof RequestError) {
        this.stop();
        this.update({ error: "The connection dropped, so the microphone was turned off. Turn it on again once reconnected." });
      }
    }
  }

  /** Push-to-talk ended: close the stream, wait for what the server made of it. */
  private finish(): void {
    const engine = this.snapshot.engine;
    if (engine === "browser") {
      // The final result arrives before `end`; `end` settles.
      this.update({ status: "finishing" });
      this.recognition?.stop();
      return;
    }
    this.endStream(true);
    this.update({ status: "finishing" });
    if (this.finishTimer) clearTimeout(this.finishTimer);
    this.finishTimer = setTimeout(() => this.settle(), this.finishTimeoutMs);
  }

  private settle(): void {
    if (this.finishTimer) clearTimeout(this.finishTimer);
    this.finishTimer = null;
    if (this.snapshot.status === "finishing") this.update({ status: "off" });
  }

  /** Releases the microphone; `graceful`: tell the far end the stream is complete. */
  private endStream(graceful: boolean): void {
    const t = this.carrier;
    if (this.mic) {
      this.mic.stop();
      this.mic = null;
      if (t?.audioCarrier === "frames" && t.isOpen) {
        try {
          // Closes the open utterance (or reports that nothing was said).
          const rid = t.send({ type: "audio_end" });
          this.voiceRids.add(rid);
        } catch {
          // Disconnected: the server ended the stream with the connection.
        }
      } else if (t?.audioCarrier === "track") {
        void t.unpublishMicrophone().catch(() => undefined);
      }
    }
    if (this.recognition) {
      const r = this.recognition;
      this.recognition = null;
      r.onend = null;
      r.onresult = graceful ? r.onresult : null;
      if (graceful) r.stop();
      else r.abort();
    }
    this.carrier = null;
    this.setLevel(0);
    if (!graceful && this.finishTimer) {
      clearTimeout(this.finishTimer);
      this.finishTimer = null;
    }
  }

  private startRecognition(mode: MicMode): void {
    const Ctor = this.Recognition;
    if (!Ctor) throw new Error(NO_VOICE_CONFIGURED);
    const rec = new Ctor();
    rec.lang = globalThis.navigator?.language || "en-US";
    rec.continuous = mode === "hands_free";
    rec.interimResults = true;
    rec.onresult = (ev) => {
      let interim = "";
      for (let i = ev.resultIndex; i < ev.results.length; i++) {
        const result = ev.results[i]!;
        const text = (result[0]?.transcript ?? "").trim();
        if (!text) continue;
        if (result.isFinal) {
          this.update({ transcript: { text, final: true } });
          const err = this.host.ask(text);
          if (err) this.update({ error: err });
        } else {
          interim = interim ? `${interim} ${text}` : text;
        }
      }
      if (interim) this.update({ transcript: { text: interim, final: false } });
    };
    rec.onerror = (ev) => {
      if (ev.error === "aborted") return;
      const text = RECOGNITION_ERRORS[ev.error] ?? `Speech recognition failed (${ev.error}).`;
      this.update({ error: text });
      if (ev.error !== "no-speech" || this.snapshot.mode !== "hands_free") this.stop();
    };
    rec.onend = () => {
      if (this.recognition !== rec) return;
      // Chrome ends even a continuous session after a while of silence: hands-free keeps going.
      if (this.snapshot.mode === "hands_free" && this.snapshot.status === "listening") {
        try {
          rec.start();
          return;
        } catch {
          // fall through: it will not start again
        }
      }
      this.recognition = null;
      this.update({ status: "off" });
    };
    this.recognition = rec;
    rec.start();
  }

  private onAppChange(): void {
    const status = this.snapshot.status;
    if (status === "off") return;
    if (!this.host.ready()) {
      // Signed out or disconnected: the stream is gone with the session.
      this.stop();
      return;
    }
    // Hands-free and the student opened another conversation: spoken questions go there now.
    const t = this.carrier;
    if (status !== "listening" || !t || this.snapshot.engine !== "server") return;
    const { id } = this.host.currentConversation();
    if (id === this.streamConversation) return;
    this.streamConversation = id;
    if (id === null) {
      void this.host.ensureConversation();
      return;
    }
    try {
      if (t.audioCarrier === "frames") this.sendStart(t, id);
      // LiveKit: an audio_start on the data channel picks the conversation of the stream the track feeds.
      else t.send({ type: "audio_start", sample_rate: AUDIO_SAMPLE_RATE, encoding: AUDIO_ENCODING, conversation_id: id });
    } catch {
      // Disconnected: handled by the ready check on the next change.
    }
  }
}
