// Speaks `web_tts` chunks with the browser's speechSynthesis, one utterance at
// a time in `seq` order, so that Stop and a new question silence it at once
// and the speaking indicator is exact.
import type { ServerMessageOf } from "@tutor/protocol";
import { readJson, writeJson } from "../lib/storage.js";
import { AgentVoice, type MakeVoiceElement } from "./agent-voice.js";
import { ServerAudioPlayer, type SpeechAudioHeader } from "./server-audio.js";

export type WebTtsChunk = ServerMessageOf<"web_tts">;

export interface VoiceOption {
  uri: string;
  name: string;
  lang: string;
  isDefault: boolean;
}

export interface SpeechSettings {
  enabled: boolean;
  /** voiceURI chosen by the student; null follows the server's suggestion. */
  voiceUri: string | null;
  /** Multiplies the rate the server suggests (the server voice plays this much faster). */
  rate: number;
  /** Volume of the server voice, 0..1 (the browser's own voice follows the system volume). */
  volume: number;
}

export interface SpeechSnapshot {
  settings: SpeechSettings;
  voices: VoiceOption[];
  /** Why speech cannot be used here, or null when it can. */
  unavailable: string | null;
  /** Voices are still being loaded (Chrome fills getVoices() asynchronously). */
  loading: boolean;
  speaking: boolean;
  /** The answer being spoken (or next in line), while speaking. */
  messageId: string | null;
  /** Speech is on and usable: ask the server to send `web_tts`. */
  active: boolean;
  /** The server speaks (speech_audio); the volume control applies to it. */
  serverVoice: boolean;
}

const SETTINGS_KEY = "tutor.speech";
const DEFAULT_SETTINGS: SpeechSettings = { enabled: true, voiceUri: null, rate: 1, volume: 1 };
export const RATE_MIN = 0.5;
export const RATE_MAX = 2;
/** Chrome sometimes never fires `end`; this bounds how long one chunk may hold the queue. */
const MAX_MS_PER_CHAR = 200;
const MIN_WATCHDOG_MS = 4000;

function clampVolume(volume: number): number {
  return Number.isFinite(volume) ? Math.min(1, Math.max(0, volume)) : 1;
}

function clampRate(rate: number): number {
  return Number.isFinite(rate) ? Math.min(RATE_MAX, Math.max(RATE_MIN, rate)) : 1;
}

export class SpeechOut {
  private settings: SpeechSettings;
  private voices: SpeechSynthesisVoice[] = [];
  private loading: boolean;
  private snapshot: SpeechSnapshot;
  private readonly listeners = new Set<() => void>();
  /** Chunks waiting, per message, ordered by seq on take. */
  private queue: WebTtsChunk[] = [];
  private current: SpeechSynthesisUtterance | null = null;
  private currentMessage: string | null = null;
  private watchdog: ReturnType<typeof setTimeout> | null = null;
  /** Messages silenced by Stop or a new question: their late chunks are dropped. */
  private readonly silenced = new Set<string>();
  private lastSeq = new Map<string, number>();
  /** The server speaks (TTS_PROVIDER=openai over the WebSocket): speech works without browser voices. */
  private serverVoice = false;
  private readonly player: ServerAudioPlayer;
  /** The agent's voice track in a LiveKit room, and the answer last heard on it. */
  private readonly agentVoice: AgentVoice;
  private agentMessage: string | null = null;
  /**
   * Answers whose server voice is still arriving (a `speech_audio` came, its
   * `tts_complete` not yet): the server is still synthesising them, so Stop
   * must cancel them there even once the text has ended.
   */
  private readonly arriving = new Set<string>();

  constructor(
    private readonly synth: SpeechSynthesis | undefined = globalThis.speechSynthesis,
    makeAudioContext?: () => AudioContext,
    makeVoiceElement?: MakeVoiceElement,
  ) {
    this.player = new ServerAudioPlayer(() => this.emit(), makeAudioContext);
    this.agentVoice = new AgentVoice(makeVoiceElement);
    const stored = readJson<Partial<SpeechSettings>>(SETTINGS_KEY, {});
    this.settings = {
      enabled: typeof stored.enabled === "boolean" ? stored.enabled : DEFAULT_SETTINGS.enabled,
      voiceUri: typeof stored.voiceUri === "string" ? stored.voiceUri : null,
      rate: clampRate(typeof stored.rate === "number" ? stored.rate : DEFAULT_SETTINGS.rate),
      volume: clampVolume(typeof stored.volume === "number" ? stored.volume : DEFAULT_SETTINGS.volume),
    };
    this.player.setSpeed(this.settings.rate);
    this.player.setVolume(this.settings.volume);
    this.agentVoice.setVolume(this.settings.volume);
    this.agentVoice.setMuted(!this.settings.enabled);
    this.loading = Boolean(synth);
    if (synth) {
      this.readVoices();
      synth.addEventListener?.("voiceschanged", () => {
        this.loading = false;
        this.readVoices();
      });
      // Browsers without voices never fire voiceschanged; stop waiting eventually.
      setTimeout(() => {
        if (this.loading) {
          this.loading = false;
          this.readVoices();
        }
      }, 2500);
    }
    this.snapshot = this.makeSnapshot();
  }

  subscribe = (fn: () => void): (() => void) => {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  };

  getSnapshot = (): SpeechSnapshot => this.snapshot;

  setEnabled(enabled: boolean): void {
    if (!enabled) this.silence();
    this.update({ enabled });
  }

  setVoice(voiceUri: string | null): void {
    this.update({ voiceUri });
  }

  setRate(rate: number): void {
    this.update({ rate: clampRate(rate) });
    this.player.setSpeed(this.settings.rate);
  }

  setVolume(volume: number): void {
    this.update({ volume: clampVolume(volume) });
    this.player.setVolume(this.settings.volume);
    this.agentVoice.setVolume(this.settings.volume);
  }

  /** The server's config says it speaks itself (speech_audio) on this carrier. */
  setServerVoice(on: boolean): void {
    this.serverVoice = on;
    this.emit();
  }

  /** A sentence of the server voice arrived (speech_audio + its PCM). */
  playAudio(header: SpeechAudioHeader, pcm: ArrayBuffer): void {
    this.noteArriving(header.message_id);
    if (!this.settings.enabled || this.silenced.has(header.message_id)) return;
    this.player.play(header, pcm);
  }

  /** In a LiveKit room: the agent's voice track to play (null when the room went away). */
  setVoiceTrack(track: MediaStreamTrack | null): void {
    this.agentVoice.setTrack(track);
  }

  /** A `speech_audio` header: in a LiveKit room its sentence is heard on the agent's track (unless silenced). */
  voiceSentence(header: SpeechAudioHeader): void {
    this.noteArriving(header.message_id);
    if (!this.settings.enabled || this.silenced.has(header.message_id)) return;
    this.agentMessage = header.message_id;
    this.agentVoice.setMuted(false);
  }

  /** `tts_complete`: the server has sent all of this answer's voice. */
  voiceComplete(messageId: string): void {
    this.arriving.delete(messageId);
  }

  /** Is the server still sending the voice of an answer that is not silenced yet (its speech must be cancelled there)? */
  get voiceArriving(): boolean {
    for (const id of this.arriving) if (!this.silenced.has(id)) return true;
    return false;
  }

  /** A `web_tts` frame arrived. */
  enqueue(chunk: WebTtsChunk): void {
    if (!this.snapshot.active || this.silenced.has(chunk.message_id)) return;
    const last = this.lastSeq.get(chunk.message_id);
    if (last !== undefined && chunk.seq <= last) return; // a duplicate
    if (this.queue.some((c) => c.message_id === chunk.message_id && c.seq === chunk.seq)) return;
    this.queue.push(chunk);
    this.pump();
    this.emit();
  }

  /** Stop speaking now and drop whatever else arrives for these (or all current) messages. */
  silence(messageIds: Iterable<string> = []): void {
    for (const id of messageIds) this.silenced.add(id);
    for (const c of this.queue) this.silenced.add(c.message_id);
    if (this.currentMessage) this.silenced.add(this.currentMessage);
    const playing = this.player.playingMessage;
    if (playing) this.silenced.add(playing);
    this.player.stop();
    if (this.agentMessage) this.silenced.add(this.agentMessage);
    this.agentVoice.setMuted(true);
    this.queue = [];
    this.finishCurrent();
    this.synth?.cancel();
    this.emit();
  }

  private noteArriving(messageId: string): void {
    // Bounded: an answer cancelled on the server side sends no tts_complete.
    if (this.arriving.size >= 16) this.arriving.delete(this.arriving.values().next().value!);
    this.arriving.add(messageId);
  }

  private update(patch: Partial<SpeechSettings>): void {
    this.settings = { ...this.settings, ...patch };
    writeJson(SETTINGS_KEY, this.settings);
    this.emit();
  }

  private readVoices(): void {
    try {
      this.voices = this.synth?.getVoices() ?? [];
    } catch {
      this.voices = [];
    }
    if (this.voices.length) this.loading = false;
    this.emit();
  }

  private makeSnapshot(): SpeechSnapshot {
    let unavailable: string | null = null;
    if (!this.synth) unavailable = "This browser cannot speak: it has no speech synthesis.";
    else if (!this.loading && this.voices.length === 0) unavailable = "No speech voices are installed in this browser.";
    return {
      settings: this.settings,
      voices: this.voices.map((v) => ({ uri: v.voiceURI, name: v.name, lang: v.lang, isDefault: v.default })),
      unavailable,
      loading: this.loading,
      speaking: this.current !== null || this.queue.length > 0 || this.player.playingMessage !== null,
      messageId: this.current ? this.currentMessage : (this.player.playingMessage ?? this.queue[0]?.message_id ?? null),
      active: this.settings.enabled && (this.serverVoice || (unavailable === null && !this.loading)),
      serverVoice: this.serverVoice,
    };
  }

  private emit(): void {
    const next = this.makeSnapshot();
    const prev = this.snapshot;
    if (
      prev &&
      prev.settings === next.settings &&
      prev.unavailable === next.unavailable &&
      prev.loading === next.loading &&
      prev.speaking === next.speaking &&
      prev.messageId === next.messageId &&
      prev.active === next.active &&
      prev.serverVoice === next.serverVoice &&
      prev.voices.length === next.voices.length &&
      prev.voices.every((v, i) => v.uri === next.voices[i]?.uri)
    ) {
      return;
    }
    this.snapshot = next;
    for (const l of this.listeners) l();
  }

  private pickVoice(serverVoice: string): SpeechSynthesisVoice | undefined {
    const chosen = this.settings.voiceUri;
    if (chosen) {
      const v = this.voices.find((x) => x.voiceURI === chosen);
      if (v) return v;
    }
    const wanted = serverVoice.toLowerCase();
    return (
      this.voices.find((v) => v.name.toLowerCase() === wanted || v.voiceURI.toLowerCase() === wanted) ??
      this.voices.find((v) => v.default)
    );
  }

  private take(): WebTtsChunk | undefined {
    if (this.queue.length === 0) return undefined;
    // Finish the message being spoken before starting the next one, each in seq order.
    const message = this.queue.some((c) => c.message_id === this.currentMessage)
      ? this.currentMessage
      : this.queue[0]!.message_id;
    let best = -1;
    for (let i = 0; i < this.queue.length; i++) {
      const c = this.queue[i]!;
      if (c.message_id !== message) continue;
      if (best < 0 || c.seq < this.queue[best]!.seq) best = i;
    }
    return this.queue.splice(best, 1)[0];
  }

  private pump(): void {
    if (this.current || !this.synth) return;
    const chunk = this.take();
    if (!chunk) return;
    const u = new SpeechSynthesisUtterance(chunk.text);
    const voice = this.pickVoice(chunk.voice);
    if (voice) {
      u.voice = voice;
      u.lang = voice.lang;
    }
    u.rate = clampRate((chunk.rate > 0 ? chunk.rate : 1) * this.settings.rate);
    u.pitch = chunk.pitch > 0 ? Math.min(2, chunk.pitch) : 1;
    this.current = u;
    this.currentMessage = chunk.message_id;
    this.lastSeq.set(chunk.message_id, chunk.seq);
    const done = () => {
      if (this.current !== u) return;
      this.finishCurrent();
      this.pump();
      this.emit();
    };
    u.onend = done;
    u.onerror = done;
    this.watchdog = setTimeout(done, Math.max(MIN_WATCHDOG_MS, (chunk.text.length * MAX_MS_PER_CHAR) / u.rate));
    this.synth.speak(u);
  }

  private finishCurrent(): void {
    if (this.watchdog) clearTimeout(this.watchdog);
    this.watchdog = null;
    if (this.current) {
      this.current.onend = null;
      this.current.onerror = null;
    }
    this.current = null;
  }
}
