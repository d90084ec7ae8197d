// One connection's protocol state machine: frames in, server messages out.
// The WebSocket and LiveKit transports create one Session per connection and
// only translate frames; all decisions are made here.
import {
  PRE_AUTH_TYPES,
  TEACHING_MODES,
  parseClientFrame,
  parseClientMessage,
  type ClientMessage,
  type ClientMessageOf,
  type ErrorCode,
  type ServerMessage,
  type SessionEndReason,
} from "@tutor/protocol";
import type { AuthService, VerifiedToken } from "./auth.js";
import type { ConversationService } from "./conversations.js";
import { prepareSubmission } from "./course/submission.js";
import { AuthError, RateLimitedError, TutorError } from "./errors.js";
import { hubEventFor, type EventHub, type HubEvent } from "./hub.js";
import type { Logger } from "./ports.js";
import type { AudioSink } from "./speech/index.js";
import type { TurnOutcome, TurnRunner } from "./turn.js";
import { VOICE_NOT_CONFIGURED, VoiceSession, type VoiceDeps, type VoiceQuestion } from "./voice/voice-session.js";

export interface SessionDeps {
  auth: AuthService;
  conversations: ConversationService;
  turns: TurnRunner;
  hub: EventHub;
  logger: Logger;
  /** Server-side speech recognition; without it audio_start is refused (the browser recognises speech itself). */
  voice?: VoiceDeps | undefined;
}

export interface SessionOptions {
  /** Unique per connection; used in logs and to skip echoing hub events. */
  id: string;
  /** Client address, for login throttling. */
  address: string;
  send: (message: ServerMessage) => void;
  /** A transport that already knows the user (LiveKit token) skips auth_request. */
  preAuthenticated?: VerifiedToken;
  /**
   * The sign-in ended (logout anywhere, expiry, revocation): `session_ended`
   * has been sent and the connection is unauthenticated again. A transport
   * that cannot sign in again (a LiveKit room) ends itself here.
   */
  onSessionEnded?: (reason: SessionEndReason) => void;
  /** A transport that carries audio (WebSocket binary frames, a LiveKit track): answers use the server voice when one is configured. */
  audio?: AudioSink;
}

/** setTimeout's longest delay; a later expiry re-arms the timer when it fires. */
const MAX_TIMER_MS = 2 ** 31 - 1;

type Rid = { request_id?: string };

/** A question to run as a turn, from text_input or from speech. */
interface Question {
  text: string;
  conversationId?: string | undefined;
  newConversation?: boolean | undefined;
  teachingMode?: ClientMessageOf<"text_input">["teaching_mode"];
  hidden?: boolean | undefined;
  speak?: boolean | undefined;
  requestId?: string | undefined;
  exercisePassed?: string | undefined;
}

interface TurnHooks {
  beforeRun?(conversationId: string): void;
  observe?(m: ServerMessage): void;
}

interface RunningTurn {
  controller: AbortController;
  conversationId: string | undefined;
  done: Promise<TurnOutcome | undefined>;
}

export class Session {
  readonly id: string;
  #auth: VerifiedToken | undefined;
  #unsubscribe: (() => void) | undefined;
  #currentConversationId: string | undefined;
  #turn: RunningTurn | undefined;
  /** Bumped at every sign-out: a turn started under an older sign-in sends nothing more to this connection. */
  #signInSeq = 0;
  #expiryTimer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  /** One auth request at a time per connection (a second one is refused, not queued). */
  #authBusy = false;
  readonly #log: Logger;
  readonly #voice: VoiceSession | undefined;

  constructor(
    private readonly deps: SessionDeps,
    private readonly opts: SessionOptions,
  ) {
    this.id = opts.id;
    this.#log = deps.logger.child({ conn: opts.id });
    if (deps.voice) this.#voice = new VoiceSession(deps.voice, this.#voiceHost());
    if (opts.preAuthenticated) this.#signIn(opts.preAuthenticated);
  }

  get user(): VerifiedToken | undefined {
    return this.#auth;
  }

  /** A text frame from the transport. Never throws. */
  async handleFrame(raw: string | Uint8Array): Promise<void> {
    const parsed = parseClientFrame(raw);
    if (!parsed.ok) return this.#error(parsed.code, parsed.message, parsed.request_id);
    return this.handle(parsed.message);
  }

  /** An already-decoded value (e.g. from a data channel). Never throws. */
  async handleValue(value: unknown): Promise<void> {
    const parsed = parseClientMessage(value);
    if (!parsed.ok) return this.#error(parsed.code, parsed.message, parsed.request_id);
    return this.handle(parsed.message);
  }

  /**
   * A binary frame of microphone audio (16 kHz mono s16le, between
   * `audio_start` and `audio_end`). A refused frame gets an `error` and the
   * stream goes on. Resolves when the next frame may be read: a transport
   * that awaits it (or pauses its socket until then) gets backpressure when
   * audio arrives faster than the detector keeps up. Never throws.
   */
  handleAudio(chunk: Uint8Array): Promise<void> {
    if (this.#auth && Date.parse(this.#auth.expires_at) <= Date.now()) void this.endSignIn("expired");
    if (!this.#auth) {
      this.#error("unauthenticated", "sign in first (send auth_request)");
      return Promise.resolve();
    }
    if (!this.#voice) {
      this.#error("invalid_message", VOICE_NOT_CONFIGURED);
      return Promise.resolve();
    }
    const r = this.#voice.audio(chunk);
    if (r.error && r.limited) {
      this.#error("rate_limited", r.error, undefined, { retry_after_s: Math.max(1, Math.ceil(r.limited.retryAfterMs / 1000)), limit: "voice_rate" });
    } else if (r.error) this.#error("invalid_message", r.error);
    return r.ready;
  }

  async handle(msg: ClientMessage): Promise<void> {
    const rid: Rid = msg.request_id === undefined ? {} : { request_id: msg.request_id };
    // The expiry timer normally got there first; this covers a timer that fired late.
    if (this.#auth && Date.parse(this.#auth.expires_at) <= Date.now()) void this.endSignIn("expired");
    if (!this.#auth && !PRE_AUTH_TYPES.has(msg.type)) {
      return this.#error("unauthenticated", "sign in first (send auth_request)", msg.request_id);
    }
    try {
      await this.#dispatch(msg, rid);
    } catch (err) {
      this.#fail(err, msg.type, rid);
    }
  }

  /**
   * Ends this connection's sign-in (its token was logged out, expired or
   * revoked): `session_ended` goes out, nothing more of that user reaches the
   * connection, it is unauthenticated again, and a running answer stops
   * (what was said is stored). Resolves once that answer is stored.
   */
  async endSignIn(reason: SessionEndReason): Promise<void> {
    if (!this.#auth) return;
    const turn = this.#turn;
    this.#signOut();
    this.#log.info({ event: "session_ended", reason }, "sign-in ended");
    this.#send({ type: "session_ended", reason });
    this.opts.onSessionEnded?.(reason);
    if (turn) {
      turn.controller.abort();
      await turn.done;
    }
  }

  /**
   * Events of other instances may have been missed (the hub's listening
   * connection came back after a PostgreSQL restart): a sign-in that ended
   * meanwhile (a logout elsewhere) ends here now; otherwise the client gets a
   * fresh `conversations_list` (no request_id), as if it had asked. Every
   * carrier calls this on the hub's resync. Never throws.
   */
  async resync(): Promise<void> {
    const auth = this.#auth;
    if (!auth || this.#closed) return;
    let reason: SessionEndReason | undefined;
    try {
      reason = await this.deps.auth.ended(auth);
    } catch (err) {
      // The database is still away: the list below fails the same way and says so to the client.
      this.#log.warn({ event: "resync_check_failed", err: String(err) }, "could not re-check the sign-in after a hub reconnect");
    }
    if (this.#auth !== auth || this.#closed) return;
    if (reason) return this.endSignIn(reason);
    await this.handle({ type: "list_conversations" });
  }

  /** Ends the connection: stops a running answer (what was said is stored). */
  async close(): Promise<void> {
    this.#closed = true;
    this.#clearExpiry();
    this.#unsubscribe?.();
    const voice = this.#voice?.close();
    const turn = this.#turn;
    if (turn) {
      turn.controller.abort();
      await turn.done;
    }
    await voice;
  }

  async #dispatch(msg: ClientMessage, rid: Rid): Promise<void> {
    switch (msg.type) {
      case "ping":
        return this.#send({ type: "pong", ...rid });
      case "auth_request":
        return this.#authRequest(msg, rid);
      case "text_input":
        return this.#textInput(msg, rid);
      case "exercise_submission": {
        // Checked against the student's own answer, then an ordinary turn (guard, limits, history).
        const q = await prepareSubmission(this.deps.conversations, this.#userId, msg);
        return this.#runTurn({ ...q, conversationId: msg.conversation_id, speak: msg.speak, requestId: msg.request_id }, rid, msg.type);
      }
      case "cancel_response": {
        const turn = this.#turn;
        if (turn && (!msg.conversation_id || !turn.conversationId || msg.conversation_id === turn.conversationId)) {
          turn.controller.abort();
          await turn.done;
        } else if (msg.conversation_id) {
          // Not running here: the turn may run on another connection or instance (SSE, a LiveKit room).
          this.deps.hub.publish(this.#userId, { kind: "cancel_turn", userId: this.#userId, conversationId: msg.conversation_id, origin: this.id });
        }
        return;
      }
      case "new_conversation": {
        const c = await this.deps.conversations.create(this.#userId, msg.teaching_mode ?? "teacher");
        this.#currentConversationId = c.id;
        return this.#send({ type: "conversation_data", conversation: { ...c, messages: [], has_more: false }, ...rid });
      }
      case "get_conversation": {
        const c = await this.deps.conversations.get(this.#userId, msg.conversation_id, { limit: msg.limit, before: msg.before });
        this.#currentConversationId = c.id;
        return this.#send({ type: "conversation_data", conversation: c, ...rid });
      }
      case "list_conversations": {
        const page = await this.deps.conversations.list(this.#userId, {
          limit: msg.limit,
          cursor: msg.cursor,
          teachingMode: msg.teaching_mode,
        });
        return this.#send({
          type: "conversations_list",
          conversations: page.conversations,
          next_cursor: page.nextCursor,
          ...(msg.teaching_mode ? { teaching_mode: msg.teaching_mode } : {}),
          ...rid,
        });
      }
      case "search_conversations": {
        const results = await this.deps.conversations.search(this.#userId, msg.query, { limit: msg.limit, teachingMode: msg.teaching_mode });
        return this.#send({ type: "search_results", query: msg.query, results, ...rid });
      }
      case "rename_conversation": {
        const c = await this.deps.conversations.rename(this.#userId, msg.conversation_id, msg.title);
        return this.#shared({ type: "conversation_updated", conversation: c }, rid);
      }
      case "delete_conversation": {
        const { currentConversationId } = await this.deps.conversations.delete(this.#userId, msg.conversation_id);
        if (this.#currentConversationId === msg.conversation_id) this.#currentConversationId = currentConversationId;
        return this.#shared(
          { type: "conversation_deleted", conversation_id: msg.conversation_id, current_conversation_id: currentConversationId },
          rid,
        );
      }
      case "clear_all_conversations": {
        const { deletedCount, conversation } = await this.deps.conversations.clear(this.#userId, msg.teaching_mode);
        this.#currentConversationId = conversation.id;
        return this.#shared(
          {
            type: "conversations_cleared",
            teaching_mode: msg.teaching_mode,
            deleted_count: deletedCount,
            new_conversation_id: conversation.id,
          },
          rid,
        );
      }
      case "audio_start": {
        if (!this.#voice) throw new TutorError("invalid_message", VOICE_NOT_CONFIGURED);
        // Started before any await, so frames sent right behind audio_start are kept.
        this.#voice.start({ conversationId: msg.conversation_id, teachingMode: msg.teaching_mode, requestId: msg.request_id });
        if (msg.conversation_id) {
          try {
            await this.deps.conversations.summary(this.#userId, msg.conversation_id);
          } catch (err) {
            this.#voice.reset();
            throw err;
          }
        }
        return;
      }
      case "audio_end":
        if (!this.#voice) throw new TutorError("invalid_message", VOICE_NOT_CONFIGURED);
        return this.#voice.end(msg.request_id);
      case "playback_state":
        this.#voice?.playback(msg.speaking, msg.message_id);
        if (msg.speaking && msg.message_id) this.deps.turns.played(msg.message_id);
        return;
    }
  }

  async #authRequest(msg: ClientMessageOf<"auth_request">, rid: Rid): Promise<void> {
    const { data } = msg;
    const action = data.type;
    if (this.#authBusy) {
      const error = "wait for the answer to your previous sign-in request";
      return this.#send({ type: "auth_response", action, success: false, error, error_type: "rate_limited", retry_after_s: 1, ...rid });
    }
    this.#authBusy = true;
    try {
      switch (data.type) {
        case "register":
        case "login": {
          const r =
            data.type === "register"
              ? await this.deps.auth.register(data, this.opts.address)
              : await this.deps.auth.login(data, this.opts.address);
          this.#signIn(await this.deps.auth.verify(r.token));
          return this.#send({ type: "auth_response", action, success: true, user: r.user, token: r.token, expires_at: r.expires_at, ...rid });
        }
        case "verify": {
          const v = await this.deps.auth.verify(data.token);
          this.#signIn(v);
          return this.#send({ type: "auth_response", action, success: true, user: v.user, token: data.token, expires_at: v.expires_at, ...rid });
        }
        case "logout": {
          // Signed out here first, so the logout's own session_ended event ends only the token's other connections.
          const signedIn = this.#auth;
          const turn = this.#turn;
          this.#signOut();
          if (signedIn) await this.deps.auth.logout(signedIn);
          if (turn) {
            turn.controller.abort();
            await turn.done;
          }
          return this.#send({ type: "auth_response", action, success: true, ...rid });
        }
      }
    } catch (err) {
      if (!(err instanceof AuthError)) throw err;
      const retry = err.retryAfterSeconds === undefined ? {} : { retry_after_s: err.retryAfterSeconds };
      this.#send({ type: "auth_response", action, success: false, error: err.message, error_type: err.errorType, ...retry, ...rid });
    } finally {
      this.#authBusy = false;
    }
  }

  async #textInput(msg: ClientMessageOf<"text_input">, rid: Rid): Promise<void> {
    await this.#runTurn(
      {
        text: msg.text,
        conversationId: msg.conversation_id,
        newConversation: msg.new_conversation,
        teachingMode: msg.teaching_mode,
        hidden: msg.hidden,
        speak: msg.speak,
        requestId: msg.request_id,
      },
      rid,
      msg.type,
    );
  }

  /** Runs a question as a turn; resolves when its answer has ended. Never throws. */
  async #runTurn(q: Question, rid: Rid, type: string, hooks: TurnHooks = {}): Promise<void> {
    if (this.#closed) return;
    const userId = this.#userId;
    // A new question replaces the answer still running on this connection.
    // The turn is registered before any await, so a quick second question or
    // a cancel_response always finds it.
    const previous = this.#turn;
    const controller = new AbortController();
    const turn: RunningTurn = { controller, conversationId: q.conversationId, done: Promise.resolve(undefined) };
    this.#turn = turn;
    const signIn = this.#signInSeq;
    const emit = (m: ServerMessage) => {
      // The user's other connections still hear of what was stored, but once
      // this sign-in has ended nothing more of the user reaches this one.
      const event = hubEventFor(m, userId, this.id);
      if (event) this.deps.hub.publish(event.userId, event);
      if (signIn !== this.#signInSeq) return;
      hooks.observe?.(m);
      this.#send(m);
    };
    turn.done = (async () => {
      if (previous) {
        previous.controller.abort();
        await previous.done;
      }
      if (controller.signal.aborted) return undefined;
      const conversation = await this.deps.turns.resolve(userId, {
        conversationId: q.conversationId,
        newConversation: q.newConversation,
        teachingMode: q.teachingMode,
        currentId: this.#currentConversationId,
      });
      this.#currentConversationId = conversation.id;
      turn.conversationId = conversation.id;
      if (controller.signal.aborted) return undefined;
      hooks.beforeRun?.(conversation.id);
      return this.deps.turns.run(
        {
          userId,
          conversationId: conversation.id,
          conversation,
          text: q.text,
          hidden: q.hidden,
          speak: q.speak,
          requestId: q.requestId,
          exercisePassed: q.exercisePassed,
          audio: this.#audioSink(hooks),
        },
        emit,
        controller.signal,
      );
    })().catch((err: unknown) => {
      this.#fail(err, type, rid);
      return undefined;
    });
    await turn.done;
    if (this.#turn === turn) this.#turn = undefined;
  }

  /** The transport's audio sink, seen by the turn's hooks (voice latency) and silent once the connection closed. */
  #audioSink(hooks: TurnHooks): AudioSink | undefined {
    const sink = this.opts.audio;
    if (!sink) return undefined;
    return {
      play: (header, audio) => {
        if (this.#closed) return;
        hooks.observe?.(header);
        return sink.play(header, audio);
      },
      stop: (messageId) => sink.stop?.(messageId),
    };
  }

  #voiceHost() {
    return {
      send: (m: ServerMessage) => this.#send(m),
      runningTurn: () => (this.#turn ? { conversationId: this.#turn.conversationId } : undefined),
      cancelTurn: () => this.#turn?.controller.abort(),
      recentTexts: async (conversationId: string | undefined, limit: number): Promise<string[]> => {
        const id = conversationId ?? this.#currentConversationId;
        if (!id || !this.#auth) return [];
        try {
          return (await this.deps.conversations.recent(this.#auth.userId, id, limit)).map((m) => m.content);
        } catch (err) {
          // Only a hint: a question heard without it is still worth answering.
          this.#log.warn({ event: "hint_failed", err: String(err) }, "could not read recent messages for the vocabulary hint");
          return [];
        }
      },
      ask: async (q: VoiceQuestion): Promise<void> => {
        if (this.#closed || !this.#auth) return;
        const rid: Rid = q.requestId === undefined ? {} : { request_id: q.requestId };
        await this.#runTurn(
          { text: q.text, conversationId: q.conversationId, teachingMode: q.teachingMode, requestId: q.requestId },
          rid,
          "voice",
          { beforeRun: (id) => q.beforeRun(id), observe: (m) => q.observe(m) },
        );
      },
      log: this.#log,
    };
  }

  get #userId(): string {
    if (!this.#auth) throw new TutorError("unauthenticated", "sign in first (send auth_request)");
    return this.#auth.userId;
  }

  #signIn(v: VerifiedToken): void {
    if (this.#auth?.userId !== v.userId) {
      this.#unsubscribe?.();
      this.#unsubscribe = this.deps.hub.subscribe(v.userId, (e) => this.#onHubEvent(e));
      this.#currentConversationId = undefined;
    }
    this.#auth = v;
    this.#armExpiry(v);
  }

  #signOut(): void {
    this.#signInSeq++;
    this.#clearExpiry();
    this.#voice?.reset();
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    this.#auth = undefined;
    this.#currentConversationId = undefined;
  }

  /** Expiry is enforced on an open connection by a timer, not only when a frame arrives. */
  #armExpiry(v: VerifiedToken): void {
    this.#clearExpiry();
    const left = Date.parse(v.expires_at) - Date.now();
    this.#expiryTimer = setTimeout(
      () => {
        if (this.#auth !== v) return;
        if (Date.parse(v.expires_at) <= Date.now()) void this.endSignIn("expired");
        else this.#armExpiry(v);
      },
      Math.min(Math.max(left, 0), MAX_TIMER_MS),
    );
    // An idle connection's timer must not keep a process alive on its own.
    this.#expiryTimer.unref?.();
  }

  #clearExpiry(): void {
    if (this.#expiryTimer) clearTimeout(this.#expiryTimer);
    this.#expiryTimer = undefined;
  }

  /** Another connection's (or instance's) event for this user, as protocol messages for this connection. */
  #onHubEvent(e: HubEvent): void {
    const auth = this.#auth;
    if (!auth || e.userId !== auth.userId || this.#closed) return;
    switch (e.kind) {
      case "session_ended":
        if (e.jti === undefined || e.jti === auth.jti) void this.endSignIn(e.reason);
        return;
      case "cancel_turn": {
        const turn = this.#turn;
        if (e.origin !== this.id && turn && turn.conversationId === e.conversationId) turn.controller.abort();
        return;
      }
      case "conversation_deleted":
        if (e.origin === this.id) return;
        if (this.#currentConversationId === e.conversationId) this.#currentConversationId = e.currentConversationId ?? undefined;
        return this.#send({ type: "conversation_deleted", conversation_id: e.conversationId, current_conversation_id: e.currentConversationId });
      case "conversations_cleared":
        if (e.origin === this.id) return;
        return this.#send({
          type: "conversations_cleared",
          teaching_mode: e.teachingMode,
          deleted_count: e.deletedCount,
          new_conversation_id: e.newConversationId,
        });
      case "conversations_imported": {
        if (e.origin === this.id) return;
        // Imported conversations land anywhere in the history (they keep their dates): the first page of each mode again.
        const signIn = this.#signInSeq;
        for (const teachingMode of TEACHING_MODES) {
          void this.deps.conversations.list(auth.userId, { teachingMode }).then(
            (page) => {
              if (signIn === this.#signInSeq) this.#send({ type: "conversations_list", conversations: page.conversations, next_cursor: page.nextCursor, teaching_mode: teachingMode });
            },
            () => undefined,
          );
        }
        return;
      }
      case "conversation_updated": {
        if (e.origin === this.id) return;
        const signIn = this.#signInSeq;
        void this.deps.conversations.summary(auth.userId, e.conversationId).then(
          (conversation) => {
            if (signIn === this.#signInSeq) this.#send({ type: "conversation_updated", conversation });
          },
          // Deleted meanwhile: its conversation_deleted says so.
          () => undefined,
        );
        return;
      }
    }
  }

  /** Sends a direct reply and shows the update in the user's other connections. */
  #shared(message: ServerMessage, rid: Rid): void {
    this.#send({ ...message, ...rid } as ServerMessage);
    const event = this.#auth && hubEventFor(message, this.#auth.userId, this.id);
    if (event) this.deps.hub.publish(event.userId, event);
  }

  #send(message: ServerMessage): void {
    if (!this.#closed) this.opts.send(message);
  }

  #error(code: ErrorCode, message: string, requestId?: string, extra: { retry_after_s?: number; limit?: RateLimitedError["limit"] } = {}): void {
    this.#send({ type: "error", code, message, ...extra, ...(requestId === undefined ? {} : { request_id: requestId }) });
  }

  /** The one place a session turns a thrown error into a protocol reply. */
  #fail(err: unknown, type: string, rid: Rid): void {
    if (err instanceof RateLimitedError) {
      return this.#error(err.code, err.message, rid.request_id, { retry_after_s: err.retryAfterSeconds, limit: err.limit });
    }
    if (err instanceof TutorError) return this.#error(err.code, err.message, rid.request_id);
    this.#log.error({ err, type }, "message handling failed");
    this.#error("internal", "something went wrong on our side; please try again", rid.request_id);
  }
}
