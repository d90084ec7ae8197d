// The running turn: sending a question or an EXPLAIN instruction, the answer
// streaming in (deltas batched to one store update per frame), Stop, and what
// a reconnect does to a turn that was under way.
import { MAX_TEXT_CHARS } from "@tutor/protocol";
import type { ExerciseLanguage, ExerciseResults, ServerMessage } from "@tutor/protocol";
import { RequestError } from "../protocol/transport.js";
import { errorText } from "./errors.js";
import type { AppHub } from "./hub.js";
import type { Conversations } from "./conversations.js";
import type { Limits } from "./limits.js";

export function explainInstruction(term: string): string {
  return (
    `Explain the term "${term}" as it is used in what we are discussing: ` +
    `a short, simple definition, why it matters, and a small example.`
  );
}

export function frameScheduler(fn: () => void): void {
  // rAF pauses in background tabs; the timeout keeps text flowing there.
  let done = false;
  const run = () => {
    if (done) return;
    done = true;
    fn();
  };
  if (typeof requestAnimationFrame === "function") requestAnimationFrame(run);
  setTimeout(run, 100);
}

export class Turns {
  private deltaBuffer = new Map<string, { conversation_id: string; message_id: string; delta: string }>();
  private flushScheduled = false;
  private readonly schedule: (fn: () => void) => void;
  private readonly limits: Limits | undefined;

  constructor(
    private readonly hub: AppHub,
    private readonly conversations: Conversations,
    opts: { schedule?: (fn: () => void) => void; limits?: Limits } = {},
  ) {
    this.schedule = opts.schedule ?? frameScheduler;
    this.limits = opts.limits;
  }

  get maxChars(): number {
    return this.hub.state().config?.limits.max_text_chars ?? MAX_TEXT_CHARS;
  }

  /** Buffers a streamed delta; true when `msg` was one. */
  takeDelta(msg: ServerMessage): boolean {
    if (msg.type !== "ai_response_delta") return false;
    const key = `${msg.conversation_id}\u0000${msg.message_id}`;
    const buffered = this.deltaBuffer.get(key);
    if (buffered) buffered.delta += msg.delta;
    else this.deltaBuffer.set(key, { conversation_id: msg.conversation_id, message_id: msg.message_id, delta: msg.delta });
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      this.schedule(() => this.flushDeltas());
    }
    return true;
  }

  /** Apply buffered deltas now (one store update per message per frame). */
  flushDeltas(): void {
    this.flushScheduled = false;
    if (this.deltaBuffer.size === 0) return;
    const batch = [...this.deltaBuffer.values()];
    this.deltaBuffer.clear();
    for (const d of batch) this.hub.dispatch({ type: "server", message: { type: "ai_response_delta", ...d } });
  }

  /** Server messages that end a turn; true when handled. */
  handle(msg: ServerMessage): boolean {
    if (msg.type !== "ai_response") return false;
    this.hub.dispatch({ type: "server", message: msg });
    if (msg.error) this.hub.notify("error", "The tutor could not answer that. Try again in a moment.");
    return true;
  }

  /** The connection is not open: what streamed so far has a gap from here on. */
  onDisconnected(): void {
    this.flushDeltas();
    if (Object.keys(this.hub.state().streams).length) this.hub.dispatch({ type: "streams/interrupt" });
  }

  /**
   * Signed in again on a new connection: a question that never arrived is
   * given back, streams of other conversations are dropped, and the open one
   * waits for its answer from storage. Returns the conversation to refetch.
   */
  resume(): string | null {
    const { hub } = this;
    const state = hub.state();
    if (state.pending && !state.pending.echoed) {
      hub.dispatch({ type: "pending", pending: null });
      hub.notify("info", "The connection dropped before your message arrived. Please send it again.");
    }
    for (const convId of Object.keys(state.streams)) {
      if (convId !== state.currentId) hub.dispatch({ type: "streams/drop", conversationId: convId });
    }
    if (state.currentId && (state.streams[state.currentId] || state.pending?.conversationId === state.currentId)) {
      hub.dispatch({ type: "awaiting", conversationId: state.currentId, on: true });
    }
    return state.currentId;
  }

  /** Send a question; returns an error to show instead, or null when sent. */
  ask(text: string): string | null {
    const trimmed = text.trim();
    if (!trimmed) return "Type a question first.";
    if (text.length > this.maxChars) {
      return `Your message is ${text.length.toLocaleString("en-US")} characters; the limit is ${this.maxChars.toLocaleString("en-US")}.`;
    }
    return this.send(text, "question", trimmed.slice(0, 200));
  }

  /** An EXPLAIN chip: a hidden instruction, not stored as a student message. */
  explain(term: string): string | null {
    if (!this.hub.state().currentId) return "Open a conversation first.";
    return this.send(explainInstruction(term), "explain", term);
  }

  /** An exercise card's code and test results for the tutor (exercise_submission); an error to show, or null. */
  submitExercise(sub: {
    conversationId: string;
    messageId: string;
    exerciseIndex: number;
    language: ExerciseLanguage;
    code: string;
    results: ExerciseResults;
  }): string | null {
    const { hub } = this;
    const state = hub.state();
    const refused = this.clearToAsk();
    if (refused) return refused;
    try {
      const requestId = hub.client.send({
        type: "exercise_submission",
        conversation_id: sub.conversationId,
        message_id: sub.messageId,
        exercise_index: sub.exerciseIndex,
        language: sub.language,
        code: sub.code,
        results: sub.results,
        speak: hub.speech.getSnapshot().active,
      });
      const label = `Exercise ${sub.exerciseIndex + 1}: ${sub.results.passed} of ${sub.results.total} tests passed`;
      hub.dispatch({
        type: "pending",
        pending: { requestId, conversationId: sub.conversationId, mode: state.current?.teaching_mode ?? state.mode, kind: "question", label, echoed: false },
      });
      return null;
    } catch (err) {
      return sendFailure(err);
    }
  }

  /** The server heard a question and is running it: show it as asked. */
  spokenTurn(requestId: string | undefined, conversationId: string | undefined, text: string): void {
    const state = this.hub.state();
    // A question barges in on whatever was being said.
    this.hub.speech.silence(Object.values(state.streams).map((s) => s.messageId));
    const convId = state.currentId === null ? null : (conversationId ?? state.currentId);
    this.hub.dispatch({
      type: "pending",
      pending: { requestId: requestId ?? "voice", conversationId: convId, mode: state.current?.teaching_mode ?? state.mode, kind: "question", label: text.slice(0, 200), echoed: false },
    });
  }

  private send(text: string, kind: "question" | "explain", label: string): string | null {
    const { hub } = this;
    const state = hub.state();
    const refused = this.clearToAsk();
    if (refused) return refused;
    const convId = state.currentId;
    try {
      const requestId = hub.client.send({
        type: "text_input",
        text,
        teaching_mode: state.current?.teaching_mode ?? state.mode,
        ...(convId ? { conversation_id: convId } : { new_conversation: true }),
        ...(kind === "explain" ? { hidden: true } : {}),
        speak: hub.speech.getSnapshot().active,
      });
      hub.dispatch({
        type: "pending",
        pending: { requestId, conversationId: convId, mode: state.mode, kind, label, echoed: kind === "explain" },
      });
      if (convId) this.conversations.remember(state.current?.teaching_mode ?? state.mode, convId);
      return null;
    } catch (err) {
      return sendFailure(err);
    }
  }

  /**
   * Why a new question cannot go now (not connected; a limit's wait, which the
   * server would refuse anyway), else null — and then what runs is stopped: a
   * new question barges in on speech and the answer in progress.
   */
  private clearToAsk(): string | null {
    if (!this.hub.state().ready) return "Not connected to the server yet.";
    const limited = this.limits?.blocked();
    if (limited) return limited;
    this.stop();
    return null;
  }

  /** The Stop button: silence speech at once and cancel the answer being generated (or still being voiced by the server). */
  stop(): void {
    const { hub } = this;
    const state = hub.state();
    const streaming = Object.values(state.streams).map((s) => s.messageId);
    // The server voice may still be synthesising an answer whose text has ended: it is cancelled there too.
    const voiceArriving = hub.speech.voiceArriving;
    hub.speech.silence(streaming);
    const convId = state.currentId;
    const busy = convId !== null && (state.streams[convId] !== undefined || state.pending?.conversationId === convId || voiceArriving);
    if (busy && state.ready) {
      try {
        hub.client.send({ type: "cancel_response", conversation_id: convId });
      } catch {
        // Not connected: nothing is being generated for us to stop.
      }
    }
  }
}

/** What the student is told when a message could not be sent. */
function sendFailure(err: unknown): string {
  return err instanceof RequestError ? errorText(err.code) : errorText("internal");
}
