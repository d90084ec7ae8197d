// The app's side effects, one object for the components: it builds the
// concerns over one store and routes every server message to the one that
// owns it. The work lives in the modules:
//   connection.ts    — config, token verification on every (re)connect, sign-in/up/out
//   conversations.ts — list paging, open/new/rename/delete/clear, mode, waiting for stored answers
//   turns.ts         — questions, EXPLAIN, streamed deltas, Stop, a turn across a reconnect
//   speaking.ts      — microphone (VoiceInput), spoken answers, playback_state
//   search.ts        — search as you type (search_conversations)
//   account.ts       — downloads, import, password change, account deletion (REST)
//   limits.ts        — rate_limited waits (countdown, sending paused) and the budget left
//   hub.ts           — what they share (store, carrier, speech, notices, saved session/mode)
import type { ServerMessage, TeachingMode } from "@tutor/protocol";
import type { Transport } from "../protocol/transport.js";
import type { SpeechOut } from "../speech/speech.js";
import type { VoiceInput, VoiceOptions } from "../voice/voice.js";
import { createStore, type Store } from "./store.js";
import { initialState, reducer, type Action, type State } from "./reducer.js";
import { createHub, savedMode, type AppHub } from "./hub.js";
import { Connection, type AuthResult } from "./connection.js";
import { Conversations } from "./conversations.js";
import { Turns } from "./turns.js";
import { Speaking } from "./speaking.js";
import { Search } from "./search.js";
import { Account } from "./account.js";
import { Limits } from "./limits.js";

export { errorText } from "./errors.js";
export { validateRegistration, type AuthField, type AuthResult } from "./connection.js";
export { explainInstruction } from "./turns.js";

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
  /** How many looks before an answer still absent counts as lost with its server (default 60). */
  pollTries?: number;
  /** The page's path (default `location.pathname`); `/c/<id>` is opened after sign-in. */
  path?: () => string;
}

export class AppController {
  readonly store: Store<State, Action>;
  readonly client: Transport;
  readonly speech: SpeechOut;
  readonly hub: AppHub;
  readonly connection: Connection;
  readonly conversations: Conversations;
  readonly turns: Turns;
  readonly speaking: Speaking;
  readonly search: Search;
  readonly account: Account;
  readonly limits: Limits;

  constructor(opts: ControllerOptions) {
    this.client = opts.client;
    this.speech = opts.speech;
    this.store = createStore(reducer, initialState(savedMode()));
    this.hub = createHub({
      store: this.store,
      client: opts.client,
      speech: opts.speech,
      fetchImpl: opts.fetchImpl ?? ((...args) => globalThis.fetch(...args)),
      path: opts.path ?? (() => globalThis.location?.pathname ?? "/"),
    });
    this.limits = new Limits(this.hub);
    this.conversations = new Conversations(this.hub, {
      ...(opts.pollMs !== undefined ? { pollMs: opts.pollMs } : {}),
      ...(opts.pollTries !== undefined ? { pollTries: opts.pollTries } : {}),
    });
    this.turns = new Turns(this.hub, this.conversations, { limits: this.limits, ...(opts.schedule ? { schedule: opts.schedule } : {}) });
    this.speaking = new Speaking(this.hub, this.conversations, this.turns, opts.voice);
    this.connection = new Connection(this.hub, this.conversations, this.turns, this.speaking);
    this.search = new Search(this.hub);
    this.account = new Account(this.hub, this.connection);
    this.client.onState((s) => {
      if (s.status !== "open") this.turns.onDisconnected();
      this.store.dispatch({ type: "connection", state: s });
    });
    this.client.onOpen(() => void this.connection.onConnected());
    this.client.onMessage((msg, meta) => this.onMessage(msg, meta.awaited));
  }

  /** Each message goes to the concern that owns it; the reducer applies the rest. */
  private onMessage(msg: ServerMessage, awaited: boolean): void {
    if (this.turns.takeDelta(msg)) return;
    // Anything else is applied after the text that came before it.
    this.turns.flushDeltas();
    this.limits.observe(msg);
    if (this.speaking.handle(msg)) return;
    if (this.conversations.handle(msg, awaited)) return;
    if (this.turns.handle(msg)) return;
    if (msg.type === "error") {
      this.connection.handleError(msg, awaited);
      return;
    }
    if (msg.type === "session_ended") {
      this.connection.handleSessionEnded(msg);
      return;
    }
    this.store.dispatch({ type: "server", message: msg });
  }

  get state(): State {
    return this.store.getState();
  }

  get voice(): VoiceInput {
    return this.speaking.voice;
  }

  start(): void {
    this.client.start();
    void this.connection.loadConfig();
  }

  /** Close the connection for good (tests, benchmarks). */
  shutdown(): void {
    this.voice.stop();
    this.limits.stop();
    this.client.stop();
    this.speech.silence();
  }

  notify(kind: "error" | "info", text: string): void {
    this.hub.notify(kind, text);
  }

  dismissNotice(id: number): void {
    this.store.dispatch({ type: "notice/dismiss", id });
  }

  // The surface the components use, kept stable across the split.
  get maxChars(): number {
    return this.turns.maxChars;
  }
  signIn(username: string, password: string): Promise<AuthResult> {
    return this.connection.signIn(username, password);
  }
  register(username: string, password: string, email: string): Promise<AuthResult> {
    return this.connection.register(username, password, email);
  }
  signOut(): Promise<void> {
    return this.connection.signOut();
  }
  setMode(mode: TeachingMode): Promise<void> {
    return this.conversations.setMode(mode);
  }
  newConversation(): Promise<void> {
    return this.conversations.create();
  }
  openConversation(id: string, focusMessageId?: string): Promise<void> {
    return this.conversations.open(id, focusMessageId);
  }
  loadList(reset: boolean): Promise<void> {
    return this.conversations.loadList(reset);
  }
  loadOlder(): Promise<void> {
    return this.conversations.loadOlder();
  }
  rename(id: string, title: string): Promise<string | null> {
    return this.conversations.rename(id, title);
  }
  remove(id: string): Promise<string | null> {
    return this.conversations.remove(id);
  }
  clearAll(mode: TeachingMode): Promise<string | null> {
    return this.conversations.clearAll(mode);
  }
  ask(text: string): string | null {
    return this.turns.ask(text);
  }
  explain(term: string): string | null {
    return this.turns.explain(term);
  }
  stop(): void {
    this.turns.stop();
  }
  flushDeltas(): void {
    this.turns.flushDeltas();
  }
}
