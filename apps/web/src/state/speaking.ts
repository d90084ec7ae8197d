// Speech and voice: the microphone (VoiceInput) wired to the conversations
// and turns, spoken answers (`web_tts`, barge-in, speech errors), and telling
// the server when an answer is being played aloud.
import type { ServerMessage } from "@tutor/protocol";
import type { SpeechSnapshot } from "../speech/speech.js";
import { VoiceInput, type VoiceOptions } from "../voice/voice.js";
import type { AppHub } from "./hub.js";
import type { Conversations } from "./conversations.js";
import type { Turns } from "./turns.js";

export class Speaking {
  readonly voice: VoiceInput;

  constructor(
    private readonly hub: AppHub,
    conversations: Conversations,
    turns: Turns,
    voiceOptions?: VoiceOptions,
  ) {
    this.voice = new VoiceInput(
      {
        transport: () => hub.client,
        ready: () => hub.state().ready,
        currentConversation: () => {
          const state = hub.state();
          return { id: state.currentId, mode: state.current?.teaching_mode ?? state.mode };
        },
        subscribe: (fn) => hub.store.subscribe(fn),
        ensureConversation: () => conversations.ensure(),
        ask: (text) => turns.ask(text),
        spokenTurn: (requestId, conversationId, text) => turns.spokenTurn(requestId, conversationId, text),
      },
      voiceOptions,
    );
    hub.client.onSpeechAudio((header, pcm) => hub.speech.playAudio(header, pcm));
    hub.client.onVoiceTrack((track) => hub.speech.setVoiceTrack(track));
    let played: Pick<SpeechSnapshot, "speaking" | "messageId"> = { speaking: false, messageId: null };
    hub.speech.subscribe(() => {
      const snap = hub.speech.getSnapshot();
      if (snap.speaking === played.speaking && (!snap.speaking || snap.messageId === played.messageId)) return;
      played = { speaking: snap.speaking, messageId: snap.messageId };
      this.reportPlayback(snap);
    });
  }

  /** Voice and speech messages; true when handled. */
  handle(msg: ServerMessage): boolean {
    const { hub } = this;
    if (this.voice.onServerMessage(msg)) {
      // A voice error may end a spoken turn that was shown as pending.
      if (msg.type === "error") hub.dispatch({ type: "server", message: msg });
      return true;
    }
    switch (msg.type) {
      case "web_tts":
        hub.speech.enqueue(msg);
        return true;
      case "speech_audio":
        // WebSocket: its PCM follows as a binary frame (the transport hands both to playAudio).
        // LiveKit: the sentence is heard on the agent's track, unmuted unless this answer was silenced.
        hub.speech.voiceSentence(msg);
        return true;
      case "tts_complete":
        hub.speech.voiceComplete(msg.message_id);
        return true;
      case "barge_in":
        // The student spoke over the tutor (voice input elsewhere, e.g. LiveKit): stop speaking now.
        hub.speech.silence(msg.message_id ? [msg.message_id] : []);
        return true;
      case "tts_error":
        hub.notify("info", `Speech failed: ${msg.message}`);
        return true;
      default:
        return false;
    }
  }

  /** Signed out or shut down: the microphone closes and nothing more is said. */
  stop(): void {
    this.voice.stop();
    this.hub.speech.silence();
  }

  /**
   * Tells the server when an answer is being spoken aloud, so that its voice
   * detector asks for sustained speech before treating the microphone (which
   * may hear the speakers) as the student talking over the tutor.
   */
  private reportPlayback(snap: SpeechSnapshot): void {
    const state = this.hub.state();
    // Server speech recognition needs it for the echo rule; the server voice for its "played" latency.
    if (!state.ready || (state.config?.stt.provider !== "server" && state.config?.tts.provider !== "openai")) return;
    try {
      this.hub.client.send({ type: "playback_state", speaking: snap.speaking, ...(snap.speaking && snap.messageId ? { message_id: snap.messageId } : {}) });
    } catch {
      // Not connected: the server forgets playback with the connection anyway.
    }
  }
}
