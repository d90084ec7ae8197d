// The wire protocol of ../../../shared/PROTOCOL.md as zod schemas.
// Every message shape is defined here once; server, agent and web import it.
import { z } from "zod";

// ---------------------------------------------------------------- constants
export const MAX_FRAME_BYTES = 256 * 1024;
export const MAX_TEXT_CHARS = 50_000;
export const MAX_TITLE_CHARS = 200;
export const MAX_REQUEST_ID_CHARS = 64;
export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;
/** Messages per `get_conversation` page (PROTOCOL.md): default and most. */
export const DEFAULT_MESSAGE_PAGE = 100;
export const MAX_MESSAGE_PAGE = 200;

export const TEACHING_MODES = ["teacher", "qa"] as const;
export type TeachingMode = (typeof TEACHING_MODES)[number];
export const DEFAULT_TEACHING_MODE: TeachingMode = "teacher";

export const MESSAGE_TYPES = ["user", "ai"] as const;
export type MessageType = (typeof MESSAGE_TYPES)[number];

/** Protocol `error.code` values; REST uses the same codes with an HTTP status. */
export const ERROR_CODES = [
  "bad_json",
  "too_large",
  "unknown_type",
  "invalid_message",
  "unauthenticated",
  "not_found",
  "rate_limited",
  "llm_unavailable",
  "internal",
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export const ERROR_HTTP_STATUS: Record<ErrorCode, number> = {
  bad_json: 400,
  too_large: 413,
  unknown_type: 400,
  invalid_message: 400,
  unauthenticated: 401,
  not_found: 404,
  rate_limited: 429,
  llm_unavailable: 503,
  internal: 500,
};

export const AUTH_ERROR_TYPES = [
  "validation",
  "username_taken",
  "email_taken",
  "invalid_credentials",
  "token_invalid",
  "token_expired",
  "rate_limited",
] as const;
export type AuthErrorType = (typeof AUTH_ERROR_TYPES)[number];

export const AUTH_ACTIONS = ["register", "login", "verify", "logout"] as const;
export type AuthAction = (typeof AUTH_ACTIONS)[number];

/** Why a connection's sign-in ended (`session_ended.reason`). */
export const SESSION_END_REASONS = ["logout", "expired", "revoked"] as const;
export type SessionEndReason = (typeof SESSION_END_REASONS)[number];

// ---------------------------------------------------------------- field rules
export const USERNAME_RE = /^[A-Za-z0-9_.-]{3,32}$/;
export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 256;

export const teachingMode = z.enum(TEACHING_MODES);
export const requestId = z.string().max(MAX_REQUEST_ID_CHARS);
export const id = z.string().min(1).max(64);

export const username = z
  .string()
  .regex(USERNAME_RE, "username must be 3-32 characters of letters, digits, '_', '.' or '-'");
export const password = z
  .string()
  .min(PASSWORD_MIN, `password must be at least ${PASSWORD_MIN} characters`)
  .max(PASSWORD_MAX, `password must be at most ${PASSWORD_MAX} characters`);
export const email = z.string().max(254).email("email is not a valid address");

export const text = z
  .string()
  .min(1, "text must not be empty")
  .max(MAX_TEXT_CHARS, `text must be at most ${MAX_TEXT_CHARS} characters`);
export const title = z
  .string()
  .trim()
  .min(1, "title must not be empty")
  .max(MAX_TITLE_CHARS, `title must be at most ${MAX_TITLE_CHARS} characters`);

// ---------------------------------------------------------------- exercises and course progress
/** Languages an exercise block may name; the browser runs python with Pyodide, javascript in a worker. */
export const EXERCISE_LANGUAGES = ["python", "javascript"] as const;
export type ExerciseLanguage = (typeof EXERCISE_LANGUAGES)[number];
export const MAX_EXERCISE_CODE_CHARS = 20_000;
export const MAX_EXERCISE_OUTPUT_CHARS = 4_000;
export const CHAPTER_STATUSES = ["todo", "current", "done"] as const;
export type ChapterStatus = (typeof CHAPTER_STATUSES)[number];

export const Course = z.object({
  chapters: z.array(z.object({ title: z.string(), status: z.enum(CHAPTER_STATUSES) })),
  current: z.number().int().nullable(),
  exercises_passed: z.number().int(),
  exercises_total: z.number().int(),
});
export type Course = z.infer<typeof Course>;

export const ExerciseResults = z
  .object({
    passed: z.number().int().min(0).max(10_000),
    failed: z.number().int().min(0).max(10_000),
    total: z.number().int().min(0).max(10_000),
    output: z.string().max(MAX_EXERCISE_OUTPUT_CHARS, `results.output must be at most ${MAX_EXERCISE_OUTPUT_CHARS} characters`),
  })
  .refine((r) => r.passed + r.failed <= r.total, { message: "passed + failed must not exceed total", path: ["total"] });
export type ExerciseResults = z.infer<typeof ExerciseResults>;

// ---------------------------------------------------------------- shapes
export const Message = z.object({
  id: z.string(),
  type: z.enum(MESSAGE_TYPES),
  content: z.string(),
  timestamp: z.string(),
  model: z.string().optional(),
});
export type Message = z.infer<typeof Message>;

export const ConversationSummary = z.object({
  id: z.string(),
  title: z.string(),
  teaching_mode: teachingMode,
  created_at: z.string(),
  updated_at: z.string(),
  message_count: z.number().int(),
  last_message: z.object({ type: z.enum(MESSAGE_TYPES), content: z.string() }).nullable(),
  /** Teacher mode, once the tutor proposed an outline (see "Exercises and course progress"). */
  course: Course.optional(),
});
export type ConversationSummary = z.infer<typeof ConversationSummary>;

/** A summary plus one page of messages, oldest first; `has_more`: older ones exist (ask with `before` = the oldest id). */
export const Conversation = ConversationSummary.extend({ messages: z.array(Message), has_more: z.boolean() });
export type Conversation = z.infer<typeof Conversation>;

export const PublicUser = z.object({
  id: z.string(),
  username: z.string(),
  email: z.string().nullable(),
  created_at: z.string(),
  last_login: z.string().nullable(),
});
export type PublicUser = z.infer<typeof PublicUser>;

// ---------------------------------------------------------------- search (issue 12)
export const MAX_SEARCH_QUERY_CHARS = 200;
export const MAX_SEARCH_LIMIT = 50;
export const DEFAULT_SEARCH_LIMIT = 20;
export const searchQuery = z
  .string()
  .min(1, "query must not be empty")
  .max(MAX_SEARCH_QUERY_CHARS, `query must be at most ${MAX_SEARCH_QUERY_CHARS} characters`);

/** One hit: the message, its conversation, and a snippet with each match as <mark>…</mark> (no other markup). */
export const SearchResult = z.object({
  conversation_id: z.string(),
  title: z.string(),
  teaching_mode: teachingMode,
  message_id: z.string(),
  snippet: z.string(),
  timestamp: z.string(),
});
export type SearchResult = z.infer<typeof SearchResult>;

// ---------------------------------------------------------------- client -> server
const base = { request_id: requestId.optional() };

export const AuthData = z.discriminatedUnion("type", [
  // Registration fields are checked by the auth service (rest.register), so a weak password or a bad
  // username/email answers auth_response error_type "validation" naming the field, on every carrier.
  z.object({
    type: z.literal("register"),
    username: z.string().max(256),
    password: z.string().max(4 * PASSWORD_MAX),
    email: z.string().max(1024).optional(),
  }),
  // Login accepts any non-empty strings: a wrong shape is "invalid credentials", not a hint.
  z.object({
    type: z.literal("login"),
    username: z.string().min(1).max(64),
    password: z.string().min(1).max(PASSWORD_MAX),
  }),
  z.object({ type: z.literal("verify"), token: z.string().min(1).max(4096) }),
  z.object({ type: z.literal("logout") }),
]);
export type AuthData = z.infer<typeof AuthData>;

/** Microphone audio on the WebSocket: 16 kHz mono signed 16-bit little-endian PCM, 20–100 ms per binary frame. */
export const AUDIO_SAMPLE_RATE = 16000;
export const AUDIO_ENCODING = "pcm_s16le";
/** The largest binary audio frame accepted: 100 ms of 16 kHz s16le. */
export const MAX_AUDIO_FRAME_BYTES = (AUDIO_SAMPLE_RATE / 10) * 2;

export const AudioFormat = {
  sample_rate: z.literal(AUDIO_SAMPLE_RATE, {
    error: `sample_rate must be ${AUDIO_SAMPLE_RATE}: resample the microphone to 16 kHz mono before sending`,
  }),
  encoding: z.literal(AUDIO_ENCODING, { error: `encoding must be "${AUDIO_ENCODING}" (signed 16-bit little-endian PCM)` }),
};

export const clientMessages = {
  auth_request: z.object({ ...base, type: z.literal("auth_request"), data: AuthData }),
  text_input: z.object({
    ...base,
    type: z.literal("text_input"),
    text,
    teaching_mode: teachingMode.optional(),
    conversation_id: id.optional(),
    new_conversation: z.boolean().optional(),
    hidden: z.boolean().optional(),
    speak: z.boolean().optional(),
  }),
  new_conversation: z.object({
    ...base,
    type: z.literal("new_conversation"),
    teaching_mode: teachingMode.optional(),
  }),
  get_conversation: z.object({
    ...base,
    type: z.literal("get_conversation"),
    conversation_id: id,
    limit: z.number().int().min(1).max(MAX_MESSAGE_PAGE).optional(),
    /** A message id: the page holds the messages older than it. */
    before: id.optional(),
  }),
  list_conversations: z.object({
    ...base,
    type: z.literal("list_conversations"),
    limit: z.number().int().min(1).max(MAX_PAGE_SIZE).optional(),
    cursor: z.string().max(512).nullable().optional(),
    teaching_mode: teachingMode.optional(),
  }),
  rename_conversation: z.object({
    ...base,
    type: z.literal("rename_conversation"),
    conversation_id: id,
    title,
  }),
  delete_conversation: z.object({
    ...base,
    type: z.literal("delete_conversation"),
    conversation_id: id,
  }),
  clear_all_conversations: z.object({
    ...base,
    type: z.literal("clear_all_conversations"),
    teaching_mode: teachingMode,
  }),
  cancel_response: z.object({
    ...base,
    type: z.literal("cancel_response"),
    conversation_id: id.optional(),
  }),
  audio_start: z.object({
    ...base,
    type: z.literal("audio_start"),
    ...AudioFormat,
    conversation_id: id.optional(),
    /** Mode of the conversation a spoken question starts when there is none yet. */
    teaching_mode: teachingMode.optional(),
  }),
  audio_end: z.object({
    ...base,
    type: z.literal("audio_end"),
    sample_rate: AudioFormat.sample_rate.optional(),
    encoding: AudioFormat.encoding.optional(),
    conversation_id: id.optional(),
  }),
  /**
   * The browser started or stopped speaking an answer aloud. While it speaks,
   * the server's voice activity detector needs sustained speech before it
   * treats the student's voice as a barge-in (the tutor's own voice leaking
   * past echo cancellation must not interrupt itself). No reply.
   */
  playback_state: z.object({
    ...base,
    type: z.literal("playback_state"),
    speaking: z.boolean(),
    message_id: id.optional(),
  }),
  ping: z.object({ ...base, type: z.literal("ping") }),
  /** The student's code for exercise `exercise_index` of answer `message_id`, with the results of its tests. */
  exercise_submission: z.object({
    ...base,
    type: z.literal("exercise_submission"),
    conversation_id: id,
    message_id: id,
    exercise_index: z.number().int().min(0).max(1_000),
    language: z.enum(EXERCISE_LANGUAGES),
    code: z
      .string()
      .min(1, "code must not be empty")
      .max(MAX_EXERCISE_CODE_CHARS, `code must be at most ${MAX_EXERCISE_CODE_CHARS} characters`),
    results: ExerciseResults,
    speak: z.boolean().optional(),
  }),
  // ---- search (issue 12)
  search_conversations: z.object({
    ...base,
    type: z.literal("search_conversations"),
    query: searchQuery,
    limit: z.number().int().min(1).max(MAX_SEARCH_LIMIT).optional(),
    teaching_mode: teachingMode.optional(),
  }),
} as const;

export type ClientMessageType = keyof typeof clientMessages;
export const CLIENT_MESSAGE_TYPES = Object.keys(clientMessages) as ClientMessageType[];
export type ClientMessageOf<T extends ClientMessageType> = z.infer<(typeof clientMessages)[T]>;
export type ClientMessage = { [T in ClientMessageType]: ClientMessageOf<T> }[ClientMessageType];

/** Message types an unauthenticated connection may send. */
export const PRE_AUTH_TYPES: ReadonlySet<string> = new Set<ClientMessageType>(["auth_request", "ping"]);

// ---------------------------------------------------------------- limits (PROTOCOL.md "Access and limits")
/**
 * Which limit refused (`error.limit`): the per-user budgets and concurrency,
 * the auth throttles, and the voice and LiveKit bounds.
 */
export const LIMIT_NAMES = [
  "turns_per_hour",
  "tokens_per_day",
  "turns_running",
  "failed_logins",
  "auth_in_flight",
  "registrations",
  "auth_busy",
  "voice_rate",
  "voice_queue",
  "livekit_rooms",
] as const;
export type LimitName = (typeof LIMIT_NAMES)[number];

/** A student's budgets: what is left, and in how many seconds each refills (null: that limit is off). */
export const Budget = z.object({
  turns_left: z.number().int().min(0).nullable(),
  turns_reset_s: z.number().int().min(0).nullable(),
  tokens_left: z.number().int().min(0).nullable(),
  tokens_reset_s: z.number().int().min(0).nullable(),
});
export type Budget = z.infer<typeof Budget>;

// ---------------------------------------------------------------- server -> client
export const serverMessages = {
  auth_response: z.object({
    ...base,
    type: z.literal("auth_response"),
    action: z.enum(AUTH_ACTIONS),
    success: z.boolean(),
    user: PublicUser.optional(),
    token: z.string().optional(),
    expires_at: z.string().optional(),
    error: z.string().optional(),
    error_type: z.enum(AUTH_ERROR_TYPES).optional(),
    /** With `error_type: "rate_limited"`: whole seconds until it may be tried again. */
    retry_after_s: z.number().int().min(0).optional(),
  }),
  conversations_list: z.object({
    ...base,
    type: z.literal("conversations_list"),
    conversations: z.array(ConversationSummary),
    next_cursor: z.string().nullable(),
    teaching_mode: teachingMode.optional(),
  }),
  conversation_data: z.object({ ...base, type: z.literal("conversation_data"), conversation: Conversation }),
  conversation_deleted: z.object({
    ...base,
    type: z.literal("conversation_deleted"),
    conversation_id: z.string(),
    current_conversation_id: z.string().nullable(),
  }),
  conversations_cleared: z.object({
    ...base,
    type: z.literal("conversations_cleared"),
    teaching_mode: teachingMode,
    deleted_count: z.number().int(),
    new_conversation_id: z.string(),
  }),
  user_message: z.object({
    ...base,
    type: z.literal("user_message"),
    conversation_id: z.string(),
    message: Message,
  }),
  ai_response_delta: z.object({
    ...base,
    type: z.literal("ai_response_delta"),
    conversation_id: z.string(),
    message_id: z.string(),
    delta: z.string(),
  }),
  ai_response: z.object({
    ...base,
    type: z.literal("ai_response"),
    conversation_id: z.string(),
    message_id: z.string(),
    text: z.string(),
    model: z.string().optional(),
    topic_rejected: z.boolean().optional(),
    error: z.boolean().optional(),
    cancelled: z.boolean().optional(),
    /** What is left of the student's budgets after this turn (absent when no limit is on). */
    budget: Budget.optional(),
  }),
  transcription: z.object({
    ...base,
    type: z.literal("transcription"),
    text: z.string(),
    final: z.boolean(),
    conversation_id: z.string().optional(),
  }),
  tts_starting: z.object({
    ...base,
    type: z.literal("tts_starting"),
    text: z.string(),
    provider: z.string(),
    voice: z.string(),
    message_id: z.string().optional(),
  }),
  voice_info: z.object({ ...base, type: z.literal("voice_info"), voice: z.string(), provider: z.string() }),
  web_tts: z.object({
    ...base,
    type: z.literal("web_tts"),
    text: z.string(),
    voice: z.string(),
    rate: z.number(),
    pitch: z.number(),
    message_id: z.string(),
    seq: z.number().int(),
  }),
  tts_complete: z.object({
    ...base,
    type: z.literal("tts_complete"),
    provider: z.string(),
    voice: z.string(),
    message_id: z.string(),
  }),
  tts_error: z.object({ ...base, type: z.literal("tts_error"), message: z.string() }),
  /**
   * The student spoke over the tutor: stop speaking at once. A running answer
   * is cancelled too (its `ai_response` follows with `cancelled: true`).
   */
  barge_in: z.object({
    ...base,
    type: z.literal("barge_in"),
    conversation_id: z.string().optional(),
    message_id: z.string().optional(),
  }),
  error: z.object({
    ...base,
    type: z.literal("error"),
    code: z.enum(ERROR_CODES),
    message: z.string(),
    /** With `rate_limited`: whole seconds until it is allowed again. */
    retry_after_s: z.number().int().min(0).optional(),
    /** With `rate_limited`: which limit (see "Limits" below). */
    limit: z.enum(LIMIT_NAMES).optional(),
  }),
  // ---- server voice (issue 11): the next binary frame from the server is this sentence's audio
  speech_audio: z.object({
    ...base,
    type: z.literal("speech_audio"),
    message_id: z.string(),
    seq: z.number().int(),
    text: z.string(),
    sample_rate: z.number().int().positive(),
    encoding: z.literal(AUDIO_ENCODING),
  }),
  pong: z.object({ ...base, type: z.literal("pong") }),
  // ------------------------------------------------ access and bounded pushes (PROTOCOL.md "Access and limits")
  /** After a turn, a rename or a course change, to every connection of the owner: the summary only. */
  conversation_updated: z.object({ ...base, type: z.literal("conversation_updated"), conversation: ConversationSummary }),
  /** The token this connection signed in with is no longer valid; the connection is unauthenticated again. */
  session_ended: z.object({ ...base, type: z.literal("session_ended"), reason: z.enum(SESSION_END_REASONS) }),
  search_results: z.object({ ...base, type: z.literal("search_results"), query: z.string(), results: z.array(SearchResult) }),
} as const;

export type ServerMessageType = keyof typeof serverMessages;
export type ServerMessageOf<T extends ServerMessageType> = z.infer<(typeof serverMessages)[T]>;
export type ServerMessage = { [T in ServerMessageType]: ServerMessageOf<T> }[ServerMessageType];

// ---------------------------------------------------------------- parsing a frame

export type ParseResult =
  | { ok: true; message: ClientMessage }
  | { ok: false; code: ErrorCode; message: string; request_id?: string };

function issueText(err: z.ZodError): string {
  return err.issues
    .slice(0, 3)
    .map((i) => (i.path.length ? `${i.path.join(".")}: ${i.message}` : i.message))
    .join("; ");
}

/**
 * Parse one text frame into a client message, applying the checks in the
 * order PROTOCOL.md fixes: too_large, bad_json, unknown_type, invalid_message.
 * (`unauthenticated` depends on the connection and is checked by the session.)
 */
export function parseClientFrame(raw: string | Uint8Array): ParseResult {
  const bytes = typeof raw === "string" ? Buffer.byteLength(raw, "utf8") : raw.byteLength;
  if (bytes > MAX_FRAME_BYTES) {
    return { ok: false, code: "too_large", message: `frame is ${bytes} bytes; the limit is ${MAX_FRAME_BYTES}` };
  }
  let value: unknown;
  try {
    value = JSON.parse(typeof raw === "string" ? raw : Buffer.from(raw).toString("utf8"));
  } catch {
    return { ok: false, code: "bad_json", message: "frame is not valid JSON" };
  }
  return parseClientMessage(value);
}

/** Validate an already-decoded value as a client message. */
export function parseClientMessage(value: unknown): ParseResult {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { ok: false, code: "invalid_message", message: "a message must be a JSON object with a string `type`" };
  }
  const obj = value as Record<string, unknown>;
  const rid = typeof obj.request_id === "string" && obj.request_id.length <= MAX_REQUEST_ID_CHARS ? obj.request_id : undefined;
  const withRid = <T extends object>(r: T) => (rid === undefined ? r : { ...r, request_id: rid });
  if (typeof obj.type !== "string") {
    return withRid({ ok: false as const, code: "invalid_message" as const, message: "a message must have a string `type`" });
  }
  const schema = (clientMessages as Record<string, z.ZodType>)[obj.type];
  if (!schema || !Object.hasOwn(clientMessages, obj.type)) {
    return withRid({ ok: false as const, code: "unknown_type" as const, message: `unknown message type '${obj.type.slice(0, 64)}'` });
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    return withRid({ ok: false as const, code: "invalid_message" as const, message: `invalid ${obj.type}: ${issueText(parsed.error)}` });
  }
  return { ok: true, message: parsed.data as ClientMessage };
}

// ---------------------------------------------------------------- REST bodies
export const rest = {
  register: z.object({ username, password, email: email.optional() }),
  login: clientMessages.auth_request.shape.data.options[1].omit({ type: true }),
  createConversation: z.object({ teaching_mode: teachingMode.optional() }),
  renameConversation: z.object({ title }),
  listQuery: z.object({
    limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).optional(),
    cursor: z.string().max(512).optional(),
    teaching_mode: teachingMode.optional(),
  }),
  clearQuery: z.object({ teaching_mode: teachingMode }),
  /** `GET /api/conversations/:id/messages` and `GET /api/conversations/:id`: one page of messages. */
  messagesQuery: z.object({
    limit: z.coerce.number().int().min(1).max(MAX_MESSAGE_PAGE).optional(),
    before: id.optional(),
  }),
  searchQuery: z.object({
    q: searchQuery,
    limit: z.coerce.number().int().min(1).max(MAX_SEARCH_LIMIT).optional(),
    teaching_mode: teachingMode.optional(),
  }),
  exportQuery: z.object({ format: z.enum(["md", "json"]).optional() }),
  changePassword: z.object({ current_password: z.string().min(1).max(PASSWORD_MAX), new_password: password }),
  deleteAccount: z.object({ password: z.string().min(1).max(PASSWORD_MAX) }),
  postMessage: z.object({
    text,
    teaching_mode: teachingMode.optional(),
    hidden: z.boolean().optional(),
    speak: z.boolean().optional(),
  }),
} as const;

/** REST error body: `{ error: { code, message } }`. */
export interface RestError {
  error: { code: ErrorCode; message: string; error_type?: AuthErrorType; retry_after_s?: number; limit?: LimitName };
}

/** `GET /api/config`: what the client may use. */
export const PublicConfig = z.object({
  llm: z.object({
    configured: z.boolean(),
    provider: z.string(),
    models: z.array(z.string()),
    message: z.string().optional(),
    /** The in-process model (LOCAL_MODEL), when on: what it is doing ("Preparing the tutor's model: 43%") or what is wrong. */
    local: z
      .object({
        model: z.string(),
        state: z.enum(["downloading", "loading", "ready", "failed"]),
        /** 0..100 while downloading. */
        progress: z.number().optional(),
        message: z.string().optional(),
      })
      .optional(),
  }),
  stt: z.object({ provider: z.enum(["server", "browser"]), model: z.string().optional() }),
  /** provider "web": the browser speaks web_tts; "openai": a server voice (`voice`, `model`) sends speech_audio, web_tts only as its fall-back. */
  tts: z.object({ provider: z.string(), default_voice: z.string(), voice: z.string().optional(), model: z.string().optional() }),
  livekit: z.object({ enabled: z.boolean(), url: z.string().optional() }),
  limits: z.object({
    max_text_chars: z.number(),
    page_size: z.number(),
    /** LIMIT_TURNS_PER_HOUR / LIMIT_TOKENS_PER_DAY; 0 = no limit. */
    turns_per_hour: z.number().int().min(0).optional(),
    tokens_per_day: z.number().int().min(0).optional(),
  }),
  teaching_modes: z.array(teachingMode),
});
export type PublicConfig = z.infer<typeof PublicConfig>;

// ---------------------------------------------------------------- LiveKit carrier
/** Data-channel topic of protocol messages in a LiveKit room (reliable packets, one UTF-8 JSON object each). */
export const LIVEKIT_TOPIC = "tutor";

/** `POST /api/livekit/token`: join `room` at `url` with `token` before `expires_at`; the tutor agent is already on its way. */
export const LiveKitToken = z.object({ url: z.string(), token: z.string(), room: z.string(), expires_at: z.string() });
export type LiveKitToken = z.infer<typeof LiveKitToken>;

// ---------------------------------------------------------------- fixed answers
/**
 * Answers the server writes itself and stores like any answer. Clients use
 * them to show a stored refusal or failure distinctly after a reload, when
 * the live `ai_response` flags are gone.
 */
export const FIXED_ANSWERS = {
  topicRejection:
    "I'm your computer science tutor, so I can only help with computing topics: programming, algorithms and data structures, " +
    "software tools, operating systems, networks, databases, security, AI and the maths behind them. " +
    "If your question has a computing side, try asking about that part, for example " +
    '"How would I store my recipes in a database?" instead of asking for a recipe. What would you like to learn?',
  fallback: "Sorry — I couldn't reach the language model just now, so I can't answer this one. Please try again in a moment.",
  noModel:
    "No language model is configured on this server yet, so I can't answer. " +
    "An administrator can set GROQ_API_KEY (Groq), or LLM_BASE_URL and LLM_MODELS (any OpenAI-compatible server), and restart the app.",
  interruptedNote: "\n\n*(The answer was interrupted before it finished. Ask me to continue.)*",
  /** The question (with the system prompt) does not fit the model's context window, or the provider said so. */
  contextTooLong:
    "Your message is too long for the language model's context window, so I couldn't answer it. " +
    "Please shorten it or split it into smaller parts (a long code listing can often be cut to the part in question).",
  /** Starts the answer while the in-process model is being downloaded or loaded; the rest says how far it is. */
  preparingPrefix: "The tutor is getting ready: ",
  /** Starts the answer when the in-process model cannot be used; the rest names the problem. */
  localModelFailedPrefix: "The tutor's local model could not be started: ",
} as const;

/** The flags a stored AI message would have had live, recognised from its text. */
export function storedAnswerFlags(content: string): { topic_rejected?: true; error?: true } {
  if (content === FIXED_ANSWERS.topicRejection) return { topic_rejected: true };
  if (
    content === FIXED_ANSWERS.fallback ||
    content === FIXED_ANSWERS.noModel ||
    content === FIXED_ANSWERS.contextTooLong ||
    content.startsWith(FIXED_ANSWERS.preparingPrefix) ||
    content.startsWith(FIXED_ANSWERS.localModelFailedPrefix) ||
    content.endsWith(FIXED_ANSWERS.interruptedNote)
  ) {
    return { error: true };
  }
  return {};
}

// ---------------------------------------------------------------- export / import (issue 12)
export const EXPORT_VERSION = 1;
/** The largest `POST /api/import` body. */
export const MAX_IMPORT_BYTES = 8 * 1024 * 1024;

export const ExportedMessage = z.object({
  id: z.string().optional(),
  type: z.enum(MESSAGE_TYPES),
  content: z.string().max(1_000_000),
  timestamp: z.iso.datetime({ offset: true }),
  model: z.string().max(200).optional(),
});
/**
 * A teacher conversation's course progress in an export (optional: absent
 * before the tutor proposed an outline, and in documents from before it was
 * exported): the outline, the current chapter (an index into it), and every
 * exercise posed — the answer holding it, by its `id` in this document, the
 * exercise's position in that answer — and whether all its tests passed.
 */
export const ExportedCourse = z.object({
  chapters: z
    .array(z.object({ n: z.number().int().nullable(), title: z.string().max(1_000), goal: z.string().max(4_000).nullable() }))
    .max(1_000),
  current: z.number().int().min(0).nullable(),
  exercises: z.array(z.object({ message_id: z.string().min(1).max(200), index: z.number().int().min(0), passed: z.boolean() })).max(100_000),
});
export type ExportedCourse = z.infer<typeof ExportedCourse>;

export const ExportedConversation = z.object({
  title: z.string().trim().min(1).max(MAX_TITLE_CHARS),
  teaching_mode: teachingMode,
  created_at: z.iso.datetime({ offset: true }),
  updated_at: z.iso.datetime({ offset: true }),
  messages: z.array(ExportedMessage).max(100_000),
  course: ExportedCourse.optional(),
});
export type ExportedConversation = z.infer<typeof ExportedConversation>;

/**
 * `GET /api/export` (the whole account) and `GET /api/conversations/:id/export?format=json`
 * (one conversation): the document `POST /api/import` takes back. Ids are the
 * exporting server's; an import makes new ones.
 */
export const ExportDocument = z.object({
  version: z.literal(EXPORT_VERSION, { error: `version must be ${EXPORT_VERSION}` }),
  exported_at: z.string(),
  user: z.object({ username: z.string() }).optional(),
  conversations: z.array(ExportedConversation.extend({ id: z.string().optional() })).max(10_000),
});
export type ExportDocument = z.infer<typeof ExportDocument>;
