// One tutoring turn (PROTOCOL.md "A tutoring turn"): resolve the conversation,
// store the question, topic guard, stream the answer with speech chunks,
// store the answer, title the conversation. Transports only pass `emit`.
import type { ConversationSummary, Message, ServerMessage, TeachingMode } from "@tutor/protocol";
import { DEFAULT_TEACHING_MODE, FIXED_ANSWERS, MAX_TEXT_CHARS } from "@tutor/protocol";
import { ConversationService, NEW_CONVERSATION_TITLE, provisionalTitle } from "./conversations.js";
import { applyAnswer, applyPass } from "./course/state.js";
import { isAbortError } from "./errors.js";
import { TOPIC_REJECTION_TEXT, type TopicGuard } from "./guard/index.js";
import { newId } from "./ids.js";
import { ChainError, type ModelChain } from "./llm/chain.js";
import { CONTEXT_DEFAULTS, fitToContext } from "./llm/context-window.js";
import { UNLIMITED_PERMIT, type Limits, type TurnPermit, type UsageMeter } from "./limits/policy.js";
import type { ChatMessage, ChatModel, Logger, Store } from "./ports.js";
import { systemPrompt, titleRequest } from "./prompts.js";
import { AnswerSpeech, type AudioSink, type ServerSpeech, type TtsSettings } from "./speech/index.js";

export const TURN_DEFAULTS = {
  historyMessages: 15,
  historyChars: MAX_TEXT_CHARS,
  maxTokens: 2048,
  topP: 0.9,
  frequencyPenalty: 0.2,
  presencePenalty: 0.1,
  deadlineMs: 45_000,
  guardContextMessages: 4,
  /** The window when no model of the chain reports one (LLM_CONTEXT_TOKENS sets it per model). */
  contextTokens: CONTEXT_DEFAULTS.contextTokens,
  tts: { provider: "web", voice: "default", rate: 1, pitch: 1 },
} as const;

export const FALLBACK_ANSWER = FIXED_ANSWERS.fallback;
export const INTERRUPTED_NOTE = FIXED_ANSWERS.interruptedNote;
export const NO_MODEL_ANSWER = FIXED_ANSWERS.noModel;
export const CONTEXT_TOO_LONG_ANSWER = FIXED_ANSWERS.contextTooLong;

export interface TurnSettings {
  historyMessages: number;
  historyChars: number;
  maxTokens: number;
  topP: number;
  frequencyPenalty: number;
  presencePenalty: number;
  deadlineMs: number;
  guardContextMessages: number;
  contextTokens: number;
  tts: TtsSettings;
}

export interface TurnDeps {
  store: Store;
  guard: TopicGuard;
  /** null: no model configured; turns answer NO_MODEL_ANSWER. */
  chain: ModelChain | null;
  /** The fast model for titles (null: keep the provisional title). */
  fast: ChatModel | null;
  logger: Logger;
  settings?: Partial<TurnSettings>;
  /** The server voice (TTS_PROVIDER=openai); answers on a transport with an audio sink are spoken by it. */
  speech?: ServerSpeech | undefined;
  /** Per-user budgets and concurrency (absent: none). Every carrier's turns pass through here. */
  limits?: Limits | undefined;
}

export interface TurnRequest {
  userId: string;
  conversationId: string;
  /** The conversation as just resolved by the caller, to save a lookup. */
  conversation?: ConversationSummary | undefined;
  text: string;
  hidden?: boolean | undefined;
  speak?: boolean | undefined;
  requestId?: string | undefined;
  /** An exercise_submission whose tests all passed: this exercise key counts as passed once the question is stored. */
  exercisePassed?: string | undefined;
  /** Where this transport sends server-voice audio; without it (REST/SSE) the browser speaks (web_tts). */
  audio?: AudioSink | undefined;
}

export type Emit = (message: ServerMessage) => void;

export interface TurnOutcome {
  conversationId: string;
  messageId: string;
  text: string;
  model: string | null;
  status: "answered" | "rejected" | "error" | "cancelled" | "no_model";
}

export interface ResolveRequest {
  conversationId?: string | undefined;
  newConversation?: boolean | undefined;
  teachingMode?: TeachingMode | undefined;
  /** The conversation this connection shows now, if any. */
  currentId?: string | undefined;
}

export class TurnRunner {
  readonly settings: TurnSettings;
  readonly #conversations: ConversationService;
  readonly #pending = new Set<Promise<unknown>>();
  readonly #active = new Set<Promise<TurnOutcome>>();
  /** Aborted by stopAll (shutdown past its grace period): every running turn stores what was said. */
  readonly #stopping = new AbortController();

  constructor(private readonly deps: TurnDeps) {
    this.settings = { ...TURN_DEFAULTS, ...deps.settings, tts: { ...TURN_DEFAULTS.tts, ...deps.settings?.tts } };
    this.#conversations = new ConversationService(deps.store);
  }

  /** Given id, else current (of the requested mode), else reuse-or-create. */
  async resolve(userId: string, r: ResolveRequest): Promise<ConversationSummary> {
    if (r.conversationId) return this.#conversations.summary(userId, r.conversationId);
    const mode = r.teachingMode ?? DEFAULT_TEACHING_MODE;
    if (!r.newConversation && r.currentId) {
      const current = await this.deps.store.getConversationSummary(userId, r.currentId);
      if (current && (!r.teachingMode || current.teaching_mode === r.teachingMode)) return current;
    }
    if (!r.newConversation) {
      const latest = await this.deps.store.latestConversation(userId, mode);
      if (latest) return latest;
    }
    return this.#conversations.create(userId, mode);
  }

  /**
   * Admits one turn of this user under the limits (a running slot, one of
   * the hour's turns, tokens left today), else throws RateLimitedError.
   * `run` admits by itself; a carrier that must answer a refusal before it
   * starts streaming (REST: 429 before the SSE headers) admits first.
   */
  admit(userId: string): Promise<TurnPermit> {
    return this.deps.limits ? this.deps.limits.admitTurn(userId) : Promise.resolve(UNLIMITED_PERMIT);
  }

  /**
   * Runs a turn, emitting its messages. Resolves when the answer is stored.
   * Aborting `signal` stops the model call and stores what was said so far.
   * Over a limit it throws RateLimitedError before anything is stored or sent.
   */
  run(req: TurnRequest, emit: Emit, signal: AbortSignal, permit?: TurnPermit): Promise<TurnOutcome> {
    const turn = (async () => {
      const p = permit ?? (await this.admit(req.userId));
      try {
        return await this.#run(req, emit, AbortSignal.any([signal, this.#stopping.signal]), p);
      } finally {
        await p.end();
      }
    })();
    this.#active.add(turn);
    void turn.then(
      () => this.#active.delete(turn),
      () => this.#active.delete(turn),
    );
    return turn;
  }

  /** Resolves when every turn running now has finished. */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.#active]);
  }

  /**
   * Stops every running turn (and any started later): each stores what was
   * said so far, marked interrupted. Resolves when they are all stored.
   */
  async stopAll(): Promise<void> {
    this.#stopping.abort();
    await this.drain();
  }

  /** The client started playing the server audio of an answer (playback_state): the "played" latency. */
  played(messageId: string): void {
    this.deps.speech?.played(messageId);
  }

  /** How many turns are running. */
  get activeCount(): number {
    return this.#active.size;
  }

  async #run(req: TurnRequest, emit: Emit, signal: AbortSignal, permit: TurnPermit): Promise<TurnOutcome> {
    const { store, logger } = this.deps;
    const rid = req.requestId === undefined ? {} : { request_id: req.requestId };
    const conversation =
      req.conversation?.id === req.conversationId ? req.conversation : await this.#conversations.summary(req.userId, req.conversationId);
    const convId = conversation.id;
    const log = logger.child({ conversation_id: convId });

    // 1. the question
    let firstQuestion = false;
    if (!req.hidden) {
      const stored = await store.addMessage(req.userId, convId, { type: "user", content: req.text });
      if (!stored) throw new Error("conversation vanished while storing the question");
      emit({ type: "user_message", conversation_id: convId, message: stored, ...rid });
      if (req.exercisePassed && conversation.teaching_mode === "teacher") {
        const key = req.exercisePassed;
        await store.updateCourse(req.userId, convId, (course) => applyPass(course, key));
      }
      if (conversation.message_count === 0 && conversation.title === NEW_CONVERSATION_TITLE) {
        firstQuestion = true;
        await store.renameConversation(req.userId, convId, provisionalTitle(req.text));
      }
    }
    const history = await this.#history(req, convId);

    // 2. topic guard; a rejected question costs no tutoring-model call
    const guardContext = history.slice(0, -1).slice(-this.settings.guardContextMessages);
    const decision = await this.deps.guard.check(req.text, guardContext, signal, permit.sideCall());
    const messageId = newId();
    const voice = this.deps.speech && req.audio ? { speech: this.deps.speech, sink: req.audio } : undefined;
    const speech = new AnswerSpeech(emit, this.settings.tts, messageId, req.speak !== false, rid, voice, signal);

    let outcome: TurnOutcome;
    if (!decision.allowed) {
      speech.push(TOPIC_REJECTION_TEXT);
      speech.finish();
      await store.addMessage(req.userId, convId, { id: messageId, type: "ai", content: TOPIC_REJECTION_TEXT });
      await permit.settle();
      const budget = permit.budget();
      emit({
        type: "ai_response",
        conversation_id: convId,
        message_id: messageId,
        text: TOPIC_REJECTION_TEXT,
        topic_rejected: true,
        ...(budget ? { budget } : {}),
        ...rid,
      });
      outcome = { conversationId: convId, messageId, text: TOPIC_REJECTION_TEXT, model: null, status: "rejected" };
    } else {
      outcome = await this.#answer(req, conversation.teaching_mode, convId, messageId, history, emit, speech, signal, log, rid, permit);
    }

    // The summary only: the client has both messages already, and a push must not grow with the conversation.
    emit({ type: "conversation_updated", conversation: await this.#conversations.summary(req.userId, convId), ...rid });
    if (firstQuestion && outcome.status === "answered") this.#improveTitle(req.userId, convId, req.text, emit, permit.sideCall());
    // The turn lasts until its voice has been sent: a cancel or barge-in meanwhile stops the synthesis.
    await speech.done();
    return outcome;
  }

  /** Resolves once background work (title improvement) has finished. */
  async idle(): Promise<void> {
    while (this.#pending.size) await Promise.allSettled([...this.#pending]);
  }

  async #answer(
    req: TurnRequest,
    mode: TeachingMode,
    convId: string,
    messageId: string,
    history: ChatMessage[],
    emit: Emit,
    speech: AnswerSpeech,
    signal: AbortSignal,
    log: Logger,
    rid: { request_id?: string },
    permit: TurnPermit,
  ): Promise<TurnOutcome> {
    const { store } = this.deps;
    let promptChars = 0;
    const base = { conversation_id: convId, message_id: messageId, ...rid };
    const finish = async (
      text: string,
      model: string | null,
      status: TurnOutcome["status"],
      flags: { error?: boolean; cancelled?: boolean } = {},
    ): Promise<TurnOutcome> => {
      if (text) await store.addMessage(req.userId, convId, { id: messageId, type: "ai", content: text, model });
      // The course follows the tutor's outline, chapter headings and exercises (course/).
      if (text && mode === "teacher") await store.updateCourse(req.userId, convId, (course) => applyAnswer(course, messageId, text));
      // Estimated from characters; a reported usage (onUsage) wins over it.
      if (model) permit.characters(promptChars, text.length);
      // Counted before the answer's last message: a question sent the moment it arrives sees the cost.
      await permit.settle();
      const budget = permit.budget();
      emit({ type: "ai_response", ...base, text, ...(model ? { model } : {}), ...flags, ...(budget ? { budget } : {}) });
      return { conversationId: convId, messageId, text, model, status };
    };

    const fixed = (answer: string, status: TurnOutcome["status"]): Promise<TurnOutcome> => {
      emit({ type: "ai_response_delta", ...base, delta: answer });
      speech.push(answer);
      speech.finish();
      return finish(answer, null, status, { error: true });
    };
    if (!this.deps.chain) return fixed(NO_MODEL_ANSWER, "no_model");

    const s = this.settings;
    const contextTokens = this.deps.chain.contextTokens ?? s.contextTokens;
    const prompt = fitToContext({ role: "system", content: systemPrompt(mode) }, history, contextTokens, s.maxTokens);
    if (!prompt) {
      log.info({ event: "turn_too_long", context_tokens: contextTokens, chars: req.text.length }, "question does not fit the context window");
      return fixed(CONTEXT_TOO_LONG_ANSWER, "error");
    }
    if (prompt.dropped) log.debug({ event: "history_trimmed", dropped: prompt.dropped, context_tokens: contextTokens }, "history trimmed to fit");
    let text = "";
    let model: string | null = null;
    promptChars = prompt.messages.reduce((n, m) => n + m.content.length, 0);
    const out = new DeltaStream((delta) => emit({ type: "ai_response_delta", ...base, delta }), speech);
    try {
      const stream = this.deps.chain.stream(
        {
          messages: prompt.messages,
          maxTokens: prompt.maxTokens,
          topP: s.topP,
          frequencyPenalty: s.frequencyPenalty,
          presencePenalty: s.presencePenalty,
          onUsage: (u) => permit.usage(u),
        },
        { signal, deadlineMs: s.deadlineMs },
      );
      for await (const chunk of stream) {
        model = chunk.model;
        if (!chunk.delta) continue;
        text += chunk.delta;
        out.push(chunk.delta);
      }
      out.flush();
      speech.finish();
      log.info({ event: "turn_answered", model, chars: text.length }, "turn answered");
      return finish(text, model, "answered");
    } catch (err) {
      // What the model said is shown, but nothing more is spoken after a cancel.
      out.flush({ speak: !(signal.aborted || isAbortError(err)) });
      if (signal.aborted || isAbortError(err)) {
        log.info({ event: "turn_cancelled", chars: text.length }, "turn cancelled");
        // Stored marked as interrupted, so a reload (or the model, in the history) can tell it is not whole.
        return finish(text ? text + INTERRUPTED_NOTE : "", model, "cancelled", { cancelled: true });
      }
      log.warn({ event: "turn_failed", err: describe(err), chars: text.length }, "every model failed");
      // Keep what the student already saw; say clearly that it stopped.
      const failure = text ? INTERRUPTED_NOTE : failureAnswer(err);
      const answer = text + failure;
      const tail = failure;
      emit({ type: "ai_response_delta", ...base, delta: tail });
      speech.push(tail);
      speech.finish();
      return finish(answer, model, "error", { error: true });
    }
  }

  /** The last N stored messages (plus a hidden instruction), within the char budget. */
  async #history(req: TurnRequest, convId: string): Promise<ChatMessage[]> {
    const s = this.settings;
    const limit = req.hidden ? s.historyMessages - 1 : s.historyMessages;
    const stored: Message[] = await this.deps.store.recentMessages(req.userId, convId, limit);
    const msgs: ChatMessage[] = stored.map((m) => ({ role: m.type === "user" ? "user" : "assistant", content: m.content }));
    if (req.hidden) msgs.push({ role: "user", content: req.text });
    // Drop the oldest until the window fits; the current question always stays.
    let total = msgs.reduce((n, m) => n + m.content.length, 0);
    while (msgs.length > 1 && total > s.historyChars) total -= msgs.shift()!.content.length;
    return msgs;
  }

  /** `meter`: the title is the student's cost too (it ends after the turn, so it counts on its own). */
  #improveTitle(userId: string, convId: string, question: string, emit: Emit, meter: UsageMeter): void {
    const fast = this.deps.fast;
    if (!fast) return;
    const provisional = provisionalTitle(question);
    const job = (async () => {
      try {
        const request = titleRequest(question);
        let reported = false;
        const raw = await fast.complete(
          { ...request, timeoutMs: 10_000, onUsage: (u) => ((reported = true), meter.usage(u)) },
          AbortSignal.timeout(15_000),
        );
        if (!reported) meter.characters(request.messages.reduce((n, m) => n + m.content.length, 0), raw.length);
        const title = cleanTitle(raw);
        if (!title) return;
        // The student may have renamed it meanwhile, even while this is written: theirs wins.
        if (!(await this.deps.store.renameConversation(userId, convId, title, provisional))) return;
        emit({ type: "conversation_updated", conversation: await this.#conversations.summary(userId, convId) });
      } catch (err) {
        this.deps.logger.debug({ event: "title_failed", err: describe(err) }, "title improvement failed");
      }
    })();
    this.#pending.add(job);
    void job.finally(() => this.#pending.delete(job));
  }
}

/**
 * Sends answer text: the first piece at once (time to first text is what a
 * student feels), later pieces merged until the event loop comes round, so a
 * model that streams one token per event does not cost one frame per token.
 */
class DeltaStream {
  #pending = "";
  #sentAny = false;
  #timer: ReturnType<typeof setImmediate> | undefined;
  constructor(
    private readonly send: (delta: string) => void,
    private readonly speech: AnswerSpeech,
  ) {}

  push(delta: string): void {
    this.#pending += delta;
    if (!this.#sentAny) this.flush();
    else this.#timer ??= setImmediate(() => this.flush());
  }

  flush(opts: { speak?: boolean } = {}): void {
    if (this.#timer) clearImmediate(this.#timer);
    this.#timer = undefined;
    if (!this.#pending) return;
    const delta = this.#pending;
    this.#pending = "";
    this.#sentAny = true;
    this.send(delta);
    if (opts.speak !== false) this.speech.push(delta);
  }
}

/**
 * Why no model answered, in the student's words: a prompt too long for a
 * model's window is said as that (not "couldn't reach"); a model that is not
 * ready (the local one downloading or broken) says what it is doing.
 */
function failureAnswer(err: unknown): string {
  if (!(err instanceof ChainError)) return FALLBACK_ANSWER;
  if (err.attempts.some((a) => a.kind === "context_length")) return CONTEXT_TOO_LONG_ANSWER;
  // Whatever else failed, a local model that is getting ready (or broken) says why: that is what the student can act on.
  const notReady = err.attempts.findLast((a) => a.kind === "not_ready" && a.message);
  return notReady?.message ?? FALLBACK_ANSWER;
}

function cleanTitle(raw: string): string {
  const line = raw.split("\n").find((l) => l.trim()) ?? "";
  const t = line
    .replace(/^\s*(title\s*:)?\s*/i, "")
    .replace(/^["'*#\s]+|["'*\s.]+$/g, "")
    .trim();
  return t.length >= 2 && t.length <= 80 ? t : "";
}

function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
