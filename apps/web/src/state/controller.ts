// Side effects of the app: talks to the server through the protocol client,
// feeds the store and the speech engine, re-authenticates after reconnects
// and makes sure a finished answer is fetched from storage if its stream was cut.
import { DEFAULT_PAGE_SIZE, MAX_TEXT_CHARS, PASSWORD_MIN, PublicConfig, USERNAME_RE } from "@tutor/protocol";
import type { AuthErrorType, ErrorCode, PublicUser, ServerMessage, TeachingMode } from "@tutor/protocol";
import { RequestError, type Transport } from "../protocol/transport.js";
import type { SpeechOut, SpeechSnapshot } from "../speech/speech.js";
import { VoiceInput, type VoiceOptions } from "../voice/voice.js";
import { readJson, writeJson } from "../lib/storage.js";
import { createStore, type Store } from "./store.js";
import { initialState, reducer, type Action, type State } from "./reducer.js";

const SESSION_KEY = "tutor.session";
const MODE_KEY = "tutor.mode";
const LAST_KEY = "tutor.last";
/** An unanswered question younger than this is probably still being answered. */
const STILL_ANSWERING_MS = 3 * 60_000;
const POLL_MS = 2000;
const POLL_TRIES = 60;

interface SavedSession {
  token: string;
  expires_at?: string;
}

export type AuthField = "username" | "password" | "email" | "form";
export type AuthResult = { ok: true } | { ok: false; field: AuthField; error: string; errorType?: AuthErrorType };

/** Readable text for a protocol error code: never raw JSON. */
export function errorText(code: ErrorCode | RequestError["code"], serverMessage?: string): string {
  switch (code) {
    case "rate_limited":
      return "You are going a little fast. Wait a moment and try again.";
    case "llm_unavailable":
      return "The tutor's language model is not reachable right now. Try again in a minute.";
    case "not_found":
      return "That conversation no longer exists.";
    case "unauthenticated":
      return "Your session has ended. Please sign in again.";
    case "too_large":
      return "That message is too large to send.";
    case "invalid_message":
    case "bad_json":
    case "unknown_type":
      return serverMessage ? `The server refused the request: ${serverMessage}` : "The server refused the request.";
    case "not_connected":
    case "connection_lost":
      return "Not connected to the server. Reconnecting…";
    case "timeout":
      return "The server did not answer in time. Try again.";
    case "internal":
    default:
      return "Something went wrong on the server. Try again.";
  }
}

export function explainInstruction(term: string): string {
  return (
    `Explain the term "${term}" as it is used in what we are discussing: ` +
    `a short, simple definition, why it matters, and a small example.`
  );
}

/** Client-side checks before a sign-up is sent, matching the server's rules. */
export function validateRegistration(username: string, password: string, email: string): AuthResult {
  if (!USERNAME_RE.test(username)) {
    return { ok: false, field: "username", error: "Use 3-32 letters, digits, '_', '.' or '-'." };
  }
  if (password.length < PASSWORD_MIN) {
    return { ok: false, field: "password", error: `Use at least ${PASSWORD_MIN} characters.` };
  }
  if (email && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) {
    return { ok: false, field: "email", error: "That does not look like an email address." };
  }
  return { ok: true };
}

function authFailure(errorType: AuthErrorType | undefined, error: string | undefined, action: string): AuthResult {
  switch (errorType) {
    case "username_taken":
      return { ok: false, field: "username", error: "That username is taken. Try another.", errorType };
    case "email_taken":
      return { ok: false, field: "email", error: "An account already uses that email.", errorType };
    case "invalid_credentials":
      return { ok: false, field: "form", error: "Wrong username or password.", errorType };
    case "rate_limited":
      return { ok: false, field: "form", error: "Too many attempts. Wait a minute and try again.", errorType };
    case "validation": {
      const field: AuthField = /password/i.test(error ?? "") ? "password" : /email/i.test(error ?? "") ? "email" : /username/i.test(error ?? "") ? "username" : "form";
      return { ok: false, field, error: error ?? "Please check the form.", errorType };
    }
    default:
      return { ok: false, field: "form", error: error ?? `Could not ${action}. Try again.`, ...(errorType ? { errorType } : {}) };
  }
}

export interface ControllerOptions {
  /** The carrier of the protocol: the WebSocket, or the switch that may move to LiveKit. */
  client: Transport;
  speech: SpeechOut;
  /** Microphone and browser speech recognition (tests pass stand-ins for the browser APIs). */
  voice?: VoiceOptions;
  fetchImpl?: typeof fetch;
  /** Flush streamed text once per frame; tests and benches may flush synchronously. */
  schedule?: (fn: () => void) => void;
  /** How often to look for an answer expected in storage (default 2 s). */
  pollMs?: number;
}

function frameScheduler(fn: () => void): void {
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

export class AppController {
  readonly store: Store<State, Action>;
  readonly client: Transport;
  readonly speech: SpeechOut;
  readonly voice: VoiceInput;
  private readonly fetchImpl: typeof fetch;
  private readonly schedule: (fn: () => void) => void;
  private readonly pollMs: number;
  private deltaBuffer = new Map<string, { conversation_id: string; message_id: string; delta: string }>();
  private flushScheduled = false;
  private polling = new Set<string>();
  private verifying = false;

  constructor(opts: ControllerOptions) {
    this.client = opts.client;
    this.speech = opts.speech;
    this.fetchImpl = opts.fetchImpl ?? ((...args) => globalThis.fetch(...args));
    this.schedule = opts.schedule ?? frameScheduler;
    this.pollMs = opts.pollMs ?? POLL_MS;
    const mode = readJson<TeachingMode | null>(MODE_KEY, null);
    this.store = createStore(reducer, initialState(mode === "qa" || mode === "teacher" ? mode : undefined));
    if (!this.session()) this.dispatch({ type: "auth/signed_out" });
    this.client.onState((s) => {
      if (s.status !== "open") {
        this.flushDeltas();
        if (Object.keys(this.state.streams).length) this.dispatch({ type: "streams/interrupt" });
      }
      this.dispatch({ type: "connection", state: s });
    });
    this.client.onOpen(() => void this.onConnected());
    this.client.onMessage((msg, meta) => this.onMessage(msg, meta.awaited));
    this.voice = new VoiceInput(
      {
        transport: () => this.client,
        ready: () => this.state.ready,
        currentConversation: () => ({ id: this.state.currentId, mode: this.state.current?.teaching_mode ?? this.state.mode }),
        subscribe: (fn) => this.store.subscribe(fn),
        ensureConversation: () => this.ensureConversation(),
        ask: (text) => this.ask(text),
        spokenTurn: (requestId, conversationId, text) => this.spokenTurn(requestId, conversationId, text),
      },
      opts.voice,
    );
    let played: Pick<SpeechSnapshot, "speaking" | "messageId"> = { speaking: false, messageId: null };
    this.speech.subscribe(() => {
      const snap = this.speech.getSnapshot();
      if (snap.speaking === played.speaking && (!snap.speaking || snap.messageId === played.messageId)) return;
      played = { speaking: snap.speaking, messageId: snap.messageId };
      this.reportPlayback(snap);
    });
  }

  /**
   * Tells the server when an answer is being spoken aloud, so that its voice
   * detector asks for sustained speech before treating the microphone (which
   * may hear the speakers) as the student talking over the tutor.
   */
  private reportPlayback(snap: SpeechSnapshot): void {
    if (!this.state.ready || this.state.config?.stt.provider !== "server") return;
    try {
      this.client.send({ type: "playback_state", speaking: snap.speaking, ...(snap.speaking && snap.messageId ? { message_id: snap.messageId } : {}) });
    } catch {
      // Not connected: the server forgets playback with the connection anyway.
    }
  }

  get state(): State {
    return this.store.getState();
  }

  private dispatch(action: Action): void {
    this.store.dispatch(action);
  }

  start(): void {
    this.client.start();
    void this.loadConfig();
  }

  /** Close the connection for good (tests, benchmarks). */
  shutdown(): void {
    this.voice.stop();
    this.client.stop();
    this.speech.silence();
  }

  get maxChars(): number {
    return this.state.config?.limits.max_text_chars ?? MAX_TEXT_CHARS;
  }

  notify(kind: "error" | "info", text: string): void {
    this.dispatch({ type: "notice", kind, text });
  }

  dismissNotice(id: number): void {
    this.dispatch({ type: "notice/dismiss", id });
  }

  // ------------------------------------------------------------ connection

  private async loadConfig(): Promise<void> {
    try {
      const res = await this.fetchImpl("/api/config", { headers: { accept: "application/json" } });
      if (!res.ok) return;
      const parsed = PublicConfig.safeParse(await res.json());
      if (parsed.success) {
        this.dispatch({ type: "config", config: parsed.data });
        this.voice.configure(parsed.data);
        if (!parsed.data.llm.configured) {
          this.notify("info", parsed.data.llm.message ?? "No language model is configured on the server yet.");
        }
      }
    } catch {
      // Defaults stand in for the config; the next reconnect tries again.
    }
  }

  private session(): SavedSession | null {
    const s = readJson<SavedSession | null>(SESSION_KEY, null);
    return s && typeof s.token === "string" && s.token ? s : null;
  }

  private async onConnected(): Promise<void> {
    if (!this.state.config) void this.loadConfig();
    const session = this.session();
    if (!session) {
      if (this.state.auth.status !== "signed_out") this.dispatch({ type: "auth/signed_out" });
      return;
    }
    if (this.verifying) return;
    this.verifying = true;
    const resumed = this.state.auth.status === "signed_in";
    if (!resumed) this.dispatch({ type: "auth/checking" });
    try {
      const res = await this.client.request({ type: "auth_request", data: { type: "verify", token: session.token } });
      if (res.type === "auth_response" && res.success && res.user) {
        await this.signedIn(res.user, resumed);
      } else {
        writeJson(SESSION_KEY, null);
        this.dispatch({ type: "auth/signed_out" });
        if (resumed || res.type !== "auth_response" || res.error_type === "token_expired") {
          this.notify("info", "Your session has ended. Please sign in again.");
        }
      }
    } catch (err) {
      // Connection lost while verifying: the next `open` verifies again.
      if (err instanceof RequestError && err.code === "rate_limited") {
        this.notify("error", errorText(err.code));
      }
    } finally {
      this.verifying = false;
    }
  }

  private async signedIn(user: PublicUser, resumed: boolean): Promise<void> {
    if (!resumed) this.dispatch({ type: "auth/signed_in", user });
    this.dispatch({ type: "ready", ready: true });
    void this.loadList(true);
    const state = this.state;
    if (resumed) {
      if (state.pending && !state.pending.echoed) {
        this.dispatch({ type: "pending", pending: null });
        this.notify("info", "The connection dropped before your message arrived. Please send it again.");
      }
      for (const convId of Object.keys(state.streams)) {
        if (convId !== state.currentId) this.dispatch({ type: "streams/drop", conversationId: convId });
      }
      if (state.currentId) {
        if (state.streams[state.currentId] || state.pending?.conversationId === state.currentId) {
          this.dispatch({ type: "awaiting", conversationId: state.currentId, on: true });
        }
        await this.fetchConversation(state.currentId);
      }
      return;
    }
    const last = this.lastConversation(state.mode);
    if (last) await this.openConversation(last);
  }

  // ------------------------------------------------------------ incoming

  private onMessage(msg: ServerMessage, awaited: boolean): void {
    if (msg.type === "ai_response_delta") {
      const key = `${msg.conversation_id}\u0000${msg.message_id}`;
      const buffered = this.deltaBuffer.get(key);
      if (buffered) buffered.delta += msg.delta;
      else this.deltaBuffer.set(key, { conversation_id: msg.conversation_id, message_id: msg.message_id, delta: msg.delta });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        this.schedule(() => this.flushDeltas());
      }
      return;
    }
    // Anything else is applied after the text that came before it.
    this.flushDeltas();
    if (this.voice.onServerMessage(msg)) {
      // A voice error may end a spoken turn that was shown as pending.
      if (msg.type === "error") this.dispatch({ type: "server", message: msg });
      return;
    }
    switch (msg.type) {
      case "web_tts":
        this.speech.enqueue(msg);
        return;
      case "barge_in":
        // The student spoke over the tutor (voice input elsewhere, e.g. LiveKit): stop speaking now.
        this.speech.silence(msg.message_id ? [msg.message_id] : []);
        return;
      case "tts_error":
        this.notify("info", `Speech failed: ${msg.message}`);
        return;
      case "conversations_list":
        if (!awaited && (msg.teaching_mode ?? this.state.mode) === this.state.mode) {
          this.dispatch({ type: "list/page", mode: this.state.mode, items: msg.conversations, nextCursor: msg.next_cursor, reset: true });
        }
        return;
      case "error":
        this.dispatch({ type: "server", message: msg });
        if (!awaited) {
          if (msg.code === "unauthenticated" && this.state.auth.status === "signed_in") {
            // The server forgot us (token revoked elsewhere): verify again.
            this.dispatch({ type: "ready", ready: false });
            void this.onConnected();
          }
          this.notify("error", errorText(msg.code, msg.message));
        }
        return;
      case "conversation_deleted": {
        const wasCurrent = this.state.currentId === msg.conversation_id;
        this.dispatch({ type: "server", message: msg });
        const next = msg.current_conversation_id;
        if (wasCurrent && next) {
          this.rememberConversation(this.state.mode, next);
          void this.fetchConversation(next);
        }
        return;
      }
      case "conversations_cleared": {
        this.dispatch({ type: "server", message: msg });
        if (this.state.currentId === msg.new_conversation_id) {
          this.rememberConversation(msg.teaching_mode, msg.new_conversation_id);
          void this.fetchConversation(msg.new_conversation_id);
        }
        return;
      }
      case "ai_response": {
        this.dispatch({ type: "server", message: msg });
        if (msg.error) this.notify("error", "The tutor could not answer that. Try again in a moment.");
        return;
      }
      default:
        this.dispatch({ type: "server", message: msg });
    }
  }

  /** Apply buffered deltas now (one store update per message per frame). */
  flushDeltas(): void {
    this.flushScheduled = false;
    if (this.deltaBuffer.size === 0) return;
    const batch = [...this.deltaBuffer.values()];
    this.deltaBuffer.clear();
    for (const d of batch) this.dispatch({ type: "server", message: { type: "ai_response_delta", ...d } });
  }

  // ------------------------------------------------------------ auth

  async signIn(username: string, password: string): Promise<AuthResult> {
    if (!username || !password) return { ok: false, field: username ? "password" : "username", error: "Required." };
    return this.authenticate({ type: "login", username, password }, "sign in");
  }

  async register(username: string, password: string, email: string): Promise<AuthResult> {
    const check = validateRegistration(username, password, email);
    if (!check.ok) return check;
    return this.authenticate(
      email ? { type: "register", username, password, email } : { type: "register", username, password },
      "create the account",
    );
  }

  private async authenticate(
    data:
      | { type: "login"; username: string; password: string }
      | { type: "register"; username: string; password: string; email?: string },
    action: string,
  ): Promise<AuthResult> {
    let res: ServerMessage;
    try {
      res = await this.client.request({ type: "auth_request", data });
    } catch (err) {
      const code = err instanceof RequestError ? err.code : "internal";
      if (code === "rate_limited") return authFailure("rate_limited", undefined, action);
      return { ok: false, field: "form", error: errorText(code, err instanceof Error ? err.message : undefined) };
    }
    if (res.type !== "auth_response") return { ok: false, field: "form", error: `Could not ${action}. Try again.` };
    if (!res.success || !res.token || !res.user) return authFailure(res.error_type, res.error, action);
    writeJson(SESSION_KEY, { token: res.token, expires_at: res.expires_at } satisfies SavedSession);
    await this.signedIn(res.user, false);
    return { ok: true };
  }

  async signOut(): Promise<void> {
    this.voice.stop();
    this.speech.silence();
    const wasReady = this.state.ready;
    writeJson(SESSION_KEY, null);
    this.dispatch({ type: "auth/signed_out" });
    if (wasReady) {
      try {
        await this.client.request({ type: "auth_request", data: { type: "logout" } }, 5000);
      } catch {
        // The token is gone from this browser either way.
      }
    }
  }

  // ------------------------------------------------------------ navigation

  private lastConversation(mode: TeachingMode): string | null {
    const user = this.state.auth.user;
    if (!user) return null;
    const all = readJson<Record<string, Partial<Record<TeachingMode, string>>>>(LAST_KEY, {});
    return all[user.id]?.[mode] ?? null;
  }

  private rememberConversation(mode: TeachingMode, id: string | null): void {
    const user = this.state.auth.user;
    if (!user) return;
    const all = readJson<Record<string, Partial<Record<TeachingMode, string>>>>(LAST_KEY, {});
    const mine = { ...all[user.id] };
    if (id) mine[mode] = id;
    else delete mine[mode];
    writeJson(LAST_KEY, { ...all, [user.id]: mine });
  }

  async setMode(mode: TeachingMode): Promise<void> {
    if (mode === this.state.mode) return;
    writeJson(MODE_KEY, mode);
    this.dispatch({ type: "mode", mode });
    void this.loadList(true);
    const last = this.lastConversation(mode);
    if (last) await this.openConversation(last);
    else this.dispatch({ type: "blank" });
  }

  /** Opens the mode's empty conversation (the server reuses one if it exists). */
  async newConversation(): Promise<void> {
    const mode = this.state.mode;
    if (this.state.current && this.state.current.messages.length === 0 && this.state.current.teaching_mode === mode) return;
    if (!this.state.ready) {
      this.dispatch({ type: "blank" });
      return;
    }
    try {
      const res = await this.client.request({ type: "new_conversation", teaching_mode: mode });
      if (res.type !== "conversation_data" || this.state.mode !== mode) return;
      this.dispatch({ type: "open", id: res.conversation.id });
      this.dispatch({ type: "server", message: res });
      this.rememberConversation(mode, res.conversation.id);
    } catch (err) {
      this.notify("error", err instanceof RequestError ? errorText(err.code, err.message) : errorText("internal"));
    }
  }

  async openConversation(id: string): Promise<void> {
    if (this.state.currentId === id && this.state.current) return;
    this.dispatch({ type: "open", id });
    await this.fetchConversation(id);
    const c = this.state.current;
    if (c?.id !== id) return;
    if (c.teaching_mode !== this.state.mode) {
      writeJson(MODE_KEY, c.teaching_mode);
      this.dispatch({ type: "mode", mode: c.teaching_mode });
      void this.loadList(true);
    }
    this.rememberConversation(c.teaching_mode, id);
    // Reloaded or switched back mid-answer: the answer will be in storage soon.
    const last = c.messages.at(-1);
    if (
      last?.type === "user" &&
      !this.state.streams[id] &&
      Date.now() - Date.parse(last.timestamp) < STILL_ANSWERING_MS
    ) {
      this.dispatch({ type: "awaiting", conversationId: id, on: true });
      void this.pollStored(id);
    }
  }

  private async fetchConversation(id: string): Promise<void> {
    try {
      await this.client.request({ type: "get_conversation", conversation_id: id });
    } catch (err) {
      if (err instanceof RequestError && err.code === "not_found") {
        this.dispatch({ type: "open/failed", id });
        this.rememberConversation(this.state.mode, null);
        this.notify("info", errorText("not_found"));
      } else if (err instanceof RequestError && (err.code === "connection_lost" || err.code === "not_connected")) {
        // Refetched after the reconnect.
      } else {
        this.dispatch({ type: "open/failed", id });
        this.notify("error", err instanceof RequestError ? errorText(err.code, err.message) : errorText("internal"));
      }
      return;
    }
    if (this.state.awaitingStored[id]) void this.pollStored(id);
  }

  private async pollStored(id: string): Promise<void> {
    if (this.polling.has(id)) return;
    this.polling.add(id);
    try {
      for (let i = 0; i < POLL_TRIES && this.state.awaitingStored[id]; i++) {
        await new Promise((r) => setTimeout(r, this.pollMs));
        if (!this.state.awaitingStored[id]) break;
        if (!this.state.ready) continue;
        if (this.state.currentId !== id) break;
        try {
          await this.client.request({ type: "get_conversation", conversation_id: id });
        } catch {
          // Keep polling; a not_found conversation is cleared by the delete handler.
        }
      }
    } finally {
      this.polling.delete(id);
      if (this.state.awaitingStored[id] && this.state.currentId === id) {
        this.dispatch({ type: "awaiting", conversationId: id, on: false });
      }
    }
  }

  async loadList(reset: boolean): Promise<void> {
    const { list, mode, ready } = this.state;
    if (!ready || (!reset && (list.loading || !list.nextCursor))) return;
    this.dispatch({ type: "list/loading", mode });
    const pageSize = this.state.config?.limits.page_size ?? DEFAULT_PAGE_SIZE;
    try {
      const res = await this.client.request({
        type: "list_conversations",
        limit: pageSize,
        teaching_mode: mode,
        ...(reset || !list.nextCursor ? {} : { cursor: list.nextCursor }),
      });
      if (res.type === "conversations_list") {
        this.dispatch({ type: "list/page", mode, items: res.conversations, nextCursor: res.next_cursor, reset });
      }
    } catch (err) {
      const text = err instanceof RequestError ? errorText(err.code, err.message) : errorText("internal");
      this.dispatch({ type: "list/error", mode, error: text });
    }
  }

  // ------------------------------------------------------------ turns

  /** Send a question; returns an error to show instead, or null when sent. */
  ask(text: string): string | null {
    const trimmed = text.trim();
    if (!trimmed) return "Type a question first.";
    if (text.length > this.maxChars) {
      return `Your message is ${text.length.toLocaleString("en-US")} characters; the limit is ${this.maxChars.toLocaleString("en-US")}.`;
    }
    return this.sendTurn(text, "question", trimmed.slice(0, 200));
  }

  /** The open conversation, or a new one of the mode (voice needs to know where questions go). */
  private async ensureConversation(): Promise<string | null> {
    if (this.state.currentId) return this.state.currentId;
    await this.newConversation();
    return this.state.currentId;
  }

  /** The server heard a question and is running it: show it as asked. */
  private spokenTurn(requestId: string | undefined, conversationId: string | undefined, text: string): void {
    const state = this.state;
    // A question barges in on whatever was being said.
    this.speech.silence(Object.values(state.streams).map((s) => s.messageId));
    const convId = state.currentId === null ? null : (conversationId ?? state.currentId);
    this.dispatch({
      type: "pending",
      pending: { requestId: requestId ?? "voice", conversationId: convId, mode: state.current?.teaching_mode ?? state.mode, kind: "question", label: text.slice(0, 200), echoed: false },
    });
  }

  /** An EXPLAIN chip: a hidden instruction, not stored as a student message. */
  explain(term: string): string | null {
    if (!this.state.currentId) return "Open a conversation first.";
    return this.sendTurn(explainInstruction(term), "explain", term);
  }

  private sendTurn(text: string, kind: "question" | "explain", label: string): string | null {
    const state = this.state;
    if (!state.ready) return "Not connected to the server yet.";
    // A new question barges in: silence speech and stop the answer in progress.
    this.stopAnswer();
    const convId = state.currentId;
    try {
      const requestId = this.client.send({
        type: "text_input",
        text,
        teaching_mode: state.current?.teaching_mode ?? state.mode,
        ...(convId ? { conversation_id: convId } : { new_conversation: true }),
        ...(kind === "explain" ? { hidden: true } : {}),
        speak: this.speech.getSnapshot().active,
      });
      this.dispatch({
        type: "pending",
        pending: { requestId, conversationId: convId, mode: state.mode, kind, label, echoed: kind === "explain" },
      });
      if (convId) this.rememberConversation(state.current?.teaching_mode ?? state.mode, convId);
      return null;
    } catch (err) {
      return err instanceof RequestError ? errorText(err.code) : errorText("internal");
    }
  }

  /** The Stop button: silence speech at once and cancel the answer being generated. */
  stop(): void {
    this.stopAnswer();
  }

  private stopAnswer(): void {
    const state = this.state;
    const streaming = Object.values(state.streams).map((s) => s.messageId);
    this.speech.silence(streaming);
    const convId = state.currentId;
    const busy = convId !== null && (state.streams[convId] !== undefined || state.pending?.conversationId === convId);
    if (busy && state.ready) {
      try {
        this.client.send({ type: "cancel_response", conversation_id: convId });
      } catch {
        // Not connected: nothing is being generated for us to stop.
      }
    }
  }

  // ------------------------------------------------------------ management

  /** Returns an error to show, or null. */
  async rename(id: string, title: string): Promise<string | null> {
    const clean = title.trim();
    if (!clean) return "A title cannot be empty.";
    if (clean.length > 200) return "Keep the title under 200 characters.";
    const before = this.state.list.items.find((c) => c.id === id)?.title ?? this.state.current?.title;
    this.dispatch({ type: "rename/local", id, title: clean });
    try {
      await this.client.request({ type: "rename_conversation", conversation_id: id, title: clean });
      return null;
    } catch (err) {
      if (before !== undefined) this.dispatch({ type: "rename/local", id, title: before });
      return err instanceof RequestError ? errorText(err.code, err.message) : errorText("internal");
    }
  }

  async remove(id: string): Promise<string | null> {
    const mode = this.state.list.items.find((c) => c.id === id)?.teaching_mode ?? this.state.mode;
    if (id === this.state.currentId) this.speech.silence(Object.values(this.state.streams).map((s) => s.messageId));
    let res: ServerMessage;
    try {
      res = await this.client.request({ type: "delete_conversation", conversation_id: id });
    } catch (err) {
      return err instanceof RequestError ? errorText(err.code, err.message) : errorText("internal");
    }
    if (this.lastConversation(mode) === id) {
      this.rememberConversation(mode, res.type === "conversation_deleted" ? res.current_conversation_id : null);
    }
    return null;
  }

  async clearAll(mode: TeachingMode): Promise<string | null> {
    this.speech.silence(Object.values(this.state.streams).map((s) => s.messageId));
    try {
      const res = await this.client.request({ type: "clear_all_conversations", teaching_mode: mode });
      if (res.type === "conversations_cleared") this.rememberConversation(mode, res.new_conversation_id);
      return null;
    } catch (err) {
      return err instanceof RequestError ? errorText(err.code, err.message) : errorText("internal");
    }
  }
}
