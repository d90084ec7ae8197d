// Ports: the small interfaces the core owns. Adapters (packages/store,
// packages/llm, apps/server) implement them; the core never imports an adapter.
import type { Conversation, ConversationSummary, ExportedConversation, ExportedCourse, Message, MessageType, SearchResult, TeachingMode } from "@tutor/protocol";
import type { CourseState } from "./course/state.js";

/** A conversation as exported: its summary fields and every message. */
export interface ExportedConversationRecord {
  id: string;
  title: string;
  teaching_mode: TeachingMode;
  created_at: string;
  updated_at: string;
  messages: Message[];
  /** Teacher mode, when the store holds course progress for it. */
  course?: ExportedCourse;
}

// ---------------------------------------------------------------- storage

export interface UserRecord {
  id: string;
  username: string;
  email: string | null;
  password_hash: string;
  created_at: string; // ISO-8601 UTC
  last_login: string | null;
}

export interface TokenRecord {
  jti: string;
  user_id: string;
  expires_at: string;
  revoked_at: string | null;
}

export interface ListOptions {
  limit: number;
  /** Opaque cursor returned as `nextCursor` by the previous page. */
  cursor?: string | undefined;
  teachingMode?: TeachingMode | undefined;
}

export interface ConversationPage {
  conversations: ConversationSummary[];
  nextCursor: string | null;
}

/** Which messages of a conversation to return: the `limit` newest older than `before` (a message id), oldest first. */
export interface MessagePage {
  limit: number;
  before?: string | undefined;
}

export interface NewMessage {
  /** Given when the id was already announced (streamed answers); else the store makes one with newId(). */
  id?: string;
  type: MessageType;
  content: string;
  model?: string | null;
}

/**
 * Persistent state. Every conversation/message method takes the owner's id
 * and behaves as if another user's rows did not exist (design rule 4).
 * Timestamps in and out are ISO-8601 UTC strings with milliseconds.
 */
export interface Store {
  readonly dialect: "sqlite" | "postgres";

  // users / tokens
  /** Throws ConflictError("username" | "email") on a duplicate (case-insensitive). */
  createUser(input: { username: string; email: string | null; passwordHash: string }): Promise<UserRecord>;
  /** Case-insensitive lookup. */
  findUserByUsername(username: string): Promise<UserRecord | undefined>;
  findUserById(id: string): Promise<UserRecord | undefined>;
  setLastLogin(userId: string, at: string): Promise<void>;
  insertToken(token: { jti: string; userId: string; expiresAt: string }): Promise<void>;
  findToken(jti: string): Promise<TokenRecord | undefined>;
  revokeToken(jti: string, at: string): Promise<void>;

  // login throttling (a shared table, so it holds across app instances)
  recordLoginFailure(key: string, at: string): Promise<void>;
  /** Failures for `key` at or after `since`, and the oldest of them (to compute when the window ends). */
  loginFailures(key: string, since: string): Promise<{ count: number; oldest: string | null }>;
  clearLoginFailures(key: string): Promise<void>;

  // housekeeping (run on a timer by the server; both return how many rows went)
  /** Deletes tokens that expired before `before` (revoked or not: either way they can no longer sign anyone in). */
  pruneTokens(before: string): Promise<number>;
  /** Deletes login failures recorded before `before` (older than any throttling window). */
  pruneLoginFailures(before: string): Promise<number>;

  // conversations
  createConversation(userId: string, input: { teachingMode: TeachingMode; title: string }): Promise<ConversationSummary>;
  /** The newest conversation of this mode that has no messages, if any. */
  findEmptyConversation(userId: string, teachingMode: TeachingMode): Promise<ConversationSummary | undefined>;
  /** The most recently updated conversation of this mode, if any. */
  latestConversation(userId: string, teachingMode: TeachingMode): Promise<ConversationSummary | undefined>;
  getConversationSummary(userId: string, conversationId: string): Promise<ConversationSummary | undefined>;
  /**
   * With one page of messages (default: the newest DEFAULT_MESSAGE_PAGE), oldest first, and `has_more` (older ones exist).
   * Throws NotFoundError("message") when `before` is not a message of this conversation.
   */
  getConversation(userId: string, conversationId: string, page?: MessagePage): Promise<Conversation | undefined>;
  /** Newest first by updated_at; one query for the page (counts and last message included). */
  listConversations(userId: string, options: ListOptions): Promise<ConversationPage>;
  /**
   * Returns false when the conversation is not the user's / does not exist,
   * or (with `ifTitle`) its title is no longer `ifTitle`: checked in the same
   * statement, so a rename by the student in between is never overwritten.
   */
  renameConversation(userId: string, conversationId: string, title: string, ifTitle?: string): Promise<boolean>;
  deleteConversation(userId: string, conversationId: string): Promise<boolean>;
  /** In one transaction: delete every conversation of the mode, create a fresh one. */
  clearConversations(
    userId: string,
    teachingMode: TeachingMode,
    freshTitle: string,
  ): Promise<{ deletedCount: number; conversation: ConversationSummary }>;

  // messages
  /** Appends and bumps the conversation's updated_at. Undefined when not the user's. */
  addMessage(userId: string, conversationId: string, message: NewMessage): Promise<Message | undefined>;
  /** One message of the user's conversation (undefined when not there or not theirs). */
  getMessage(userId: string, conversationId: string, messageId: string): Promise<Message | undefined>;
  /**
   * Changes the conversation's course in one transaction: `update` gets the
   * stored state (null: none) and returns the new one, or the same object to
   * change nothing. Resolves true when something was written.
   */
  updateCourse(userId: string, conversationId: string, update: (state: CourseState | null) => CourseState | null): Promise<boolean>;
  /** The last `limit` messages, oldest first. */
  recentMessages(userId: string, conversationId: string, limit: number): Promise<Message[]>;

  // search, export / import, account (issue 12)
  /**
   * The user's messages matching every word of `query` (the last as a prefix),
   * newest first, with a marked snippet. Throws invalid_message when the query has no word.
   */
  searchMessages(userId: string, options: { query: string; limit: number; teachingMode?: TeachingMode | undefined }): Promise<SearchResult[]>;
  /** The user's conversations with every message, oldest message first; one conversation when `conversationId` is given ([] when not theirs). */
  exportConversations(userId: string, conversationId?: string): Promise<ExportedConversationRecord[]>;
  /** Adds the conversations under new ids, in one transaction; nothing existing is touched. */
  importConversations(userId: string, conversations: ExportedConversation[]): Promise<{ conversationIds: string[]; messageCount: number }>;
  setPasswordHash(userId: string, passwordHash: string): Promise<void>;
  /** Revokes every live token of the user except `exceptJti`; returns the revoked jtis. */
  revokeUserTokens(userId: string, at: string, exceptJti?: string): Promise<string[]>;
  /** Removes the user and every row of theirs (tokens, conversations, messages, search index) in one transaction. */
  deleteUser(userId: string): Promise<boolean>;

  /** A cheap round trip, for /readyz. */
  ping(): Promise<void>;
  /** Flush what can be flushed (SQLite: WAL checkpoint) and close. */
  close(): Promise<void>;
}

// ---------------------------------------------------------------- language models

export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

export interface ChatRequest {
  messages: ChatMessage[];
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  frequencyPenalty?: number;
  presencePenalty?: number;
  /** Per-attempt timeout for the first token (stream) or whole answer (complete). */
  timeoutMs?: number;
  /** Called at most once per request by an adapter that knows the token usage (COORD item 2). */
  onUsage?: (usage: { promptTokens: number; completionTokens: number }) => void;
}

/**
 * One model behind an OpenAI-compatible API. Failures are thrown as LlmError
 * (kind decides retrying); an aborted signal throws LlmError("aborted").
 */
export interface ChatModel {
  /** The model name as the provider knows it; stored with each answer. */
  readonly name: string;
  /** Default temperature from LLM_MODELS (`name:temperature`). */
  readonly temperature?: number | undefined;
  /** The context window in tokens (prompt + answer): LLM_CONTEXT_TOKENS or what the model reports; unset: unknown. */
  readonly contextTokens?: number | undefined;
  stream(request: ChatRequest, signal: AbortSignal): AsyncIterable<string>;
  complete(request: ChatRequest, signal: AbortSignal): Promise<string>;
}

// ---------------------------------------------------------------- speech recognition

export interface TranscribeOptions {
  /** Vocabulary hint (Whisper `prompt`): terms the speaker is likely to use. */
  prompt?: string | undefined;
  /** Per attempt: no complete answer by then and the call fails with LlmError("timeout"). */
  timeoutMs?: number | undefined;
  signal: AbortSignal;
}

/**
 * One speech-to-text service behind an OpenAI-compatible
 * `/audio/transcriptions` endpoint. `transcribe` takes a whole utterance as a
 * WAV file (16 kHz mono s16le) and resolves with its text ("" when nothing
 * was said). Failures are thrown as LlmError (its kind decides retrying);
 * an aborted signal throws LlmError("aborted").
 */
export interface SpeechToText {
  /** The model name as the provider knows it (e.g. whisper-large-v3-turbo). */
  readonly model: string;
  transcribe(wav: Uint8Array, opts: TranscribeOptions): Promise<string>;
}

// ---------------------------------------------------------------- speech synthesis

/** The sample rate of every server voice's audio after the adapter (OpenAI `pcm`: 24 kHz mono s16le). */
export const TTS_SAMPLE_RATE = 24_000;

export interface SynthesizeOptions {
  /** The server's voice name (TTS_VOICE); the adapter's default when absent. */
  voice?: string | undefined;
  /** 0.25..4, 1 = normal. */
  speed?: number | undefined;
  /** Per attempt: no complete audio by then and the call fails with LlmError("timeout"). */
  timeoutMs?: number | undefined;
  signal: AbortSignal;
}

/** One sentence of speech: mono 16-bit samples at TTS_SAMPLE_RATE. */
export interface SpeechAudio {
  samples: Int16Array;
  sampleRate: typeof TTS_SAMPLE_RATE;
}

/**
 * One text-to-speech service behind an OpenAI-compatible `/audio/speech`
 * endpoint (Kokoro-FastAPI, Speaches, openedai-speech, OpenAI). `synthesize`
 * takes one sentence and resolves with its whole audio, converted to
 * TTS_SAMPLE_RATE mono s16. Failures are thrown as LlmError (its kind
 * decides retrying; audio that is empty, not audio or implausible for the
 * text is "bad_response"); an aborted signal throws LlmError("aborted").
 */
export interface TextToSpeech {
  /** The model name as the provider knows it (e.g. tts-1, kokoro). */
  readonly model: string;
  /** The voice used when a call names none. */
  readonly voice: string;
  synthesize(text: string, opts: SynthesizeOptions): Promise<SpeechAudio>;
}

/**
 * Voice activity detection for ONE audio stream (it keeps state between
 * calls, so every stream gets its own from a `VadFactory`). Scores fixed-size
 * frames of 16-bit PCM at `sampleRate`; the work must not block the event loop.
 */
export interface VoiceActivityDetector {
  readonly sampleRate: number;
  /** Samples per scored frame (Silero: 512 at 16 kHz, i.e. 32 ms). */
  readonly frameSamples: number;
  /**
   * The speech probability (0..1) of each consecutive frame in `pcm`, whose
   * length is a whole number of frames. Calls must not overlap: the next
   * call continues where the previous one ended.
   */
  probabilities(pcm: Int16Array): Promise<Float32Array>;
  /** Frees the stream's state; later calls reject. */
  close(): void;
}

/** Makes the detector for one new audio stream. */
export type VadFactory = () => Promise<VoiceActivityDetector>;

// ---------------------------------------------------------------- crypto / time

export interface PasswordHasher {
  /** Must not block the event loop (argon2id runs on a worker thread). */
  hash(password: string): Promise<string>;
  verify(hash: string, password: string): Promise<boolean>;
}

export interface Clock {
  now(): number; // ms since epoch
}
export const systemClock: Clock = { now: () => Date.now() };

export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silentLogger;
  },
};
