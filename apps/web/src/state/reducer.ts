// The app's state and the one reducer that changes it. Server messages are
// applied here (pure), side effects live in controller.ts.
import type {
  Conversation,
  ConversationSummary,
  Message,
  PublicConfig,
  PublicUser,
  ServerMessage,
  TeachingMode,
} from "@tutor/protocol";
import { DEFAULT_TEACHING_MODE } from "@tutor/protocol";
import type { ConnectionState } from "../protocol/client.js";
import { emptySearch, type SearchState } from "./search.js";
import type { BudgetSeen, RateLimit } from "./limits.js";

export type AuthStatus = "checking" | "signed_out" | "signed_in";

/** An answer arriving as `ai_response_delta`s. */
export interface StreamingAnswer {
  conversationId: string;
  messageId: string;
  text: string;
  /** The connection dropped mid-answer: the text has a gap; wait for the stored answer. */
  interrupted: boolean;
}

export interface AnswerFlags {
  topic_rejected?: boolean;
  error?: boolean;
  cancelled?: boolean;
}

/** A question sent and not yet answered. */
export interface PendingTurn {
  requestId: string;
  /** null until `user_message` tells which conversation the server created. */
  conversationId: string | null;
  mode: TeachingMode;
  kind: "question" | "explain";
  /** The question typed, or the term of an EXPLAIN chip. */
  label: string;
  /** The server echoed the question as `user_message` (it is stored). */
  echoed: boolean;
}

export interface Notice {
  id: number;
  kind: "error" | "info";
  text: string;
}

export interface ListState {
  mode: TeachingMode;
  items: ConversationSummary[];
  nextCursor: string | null;
  loading: boolean;
  loaded: boolean;
  error: string | null;
}

export interface State {
  auth: { status: AuthStatus; user: PublicUser | null };
  connection: ConnectionState;
  /** The socket is open and authenticated: requests may be sent. */
  ready: boolean;
  config: PublicConfig | null;
  mode: TeachingMode;
  list: ListState;
  currentId: string | null;
  current: Conversation | null;
  loadingCurrent: boolean;
  /** The conversation the address named was not found (or is not the student's): show the not-found page. */
  missingId: string | null;
  /** A message to scroll to once its conversation is shown (a search result). */
  focusMessageId: string | null;
  streams: Record<string, StreamingAnswer>;
  pending: PendingTurn | null;
  /** Conversations whose answer is expected from storage (after a reconnect or reload). */
  awaitingStored: Record<string, true>;
  /**
   * Conversations whose last question has no answer. `lost`: it was awaited
   * (after a reconnect or reload) past any turn's deadline, so the server
   * answering it stopped (an instance that died never stores half an
   * answer). `none`: found so when opened, long after it was asked (stopped
   * before any of the answer came, or lost the same way). The chat says so
   * and offers to ask again.
   */
  unanswered: Record<string, "lost" | "none">;
  flags: Record<string, AnswerFlags>;
  notices: Notice[];
  noticeSeq: number;
  search: SearchState;
  /** A limit refused and its wait is not over (limits.ts). */
  rateLimit: RateLimit | null;
  /** What the latest answer said is left of the student's budgets. */
  budget: BudgetSeen | null;
}

export type Action =
  | { type: "connection"; state: ConnectionState }
  | { type: "ready"; ready: boolean }
  | { type: "auth/checking" }
  | { type: "auth/signed_in"; user: PublicUser }
  | { type: "auth/signed_out" }
  | { type: "config"; config: PublicConfig }
  | { type: "mode"; mode: TeachingMode }
  | { type: "list/loading"; mode: TeachingMode }
  | { type: "list/page"; mode: TeachingMode; items: ConversationSummary[]; nextCursor: string | null; reset: boolean }
  | { type: "list/error"; mode: TeachingMode; error: string }
  | { type: "open"; id: string; focusMessageId?: string }
  | { type: "open/failed"; id: string; missing?: boolean }
  | { type: "focus"; messageId: string }
  | { type: "focus/done" }
  | { type: "search"; search: SearchState }
  | { type: "blank" }
  | { type: "pending"; pending: PendingTurn | null }
  | { type: "streams/interrupt" }
  | { type: "streams/drop"; conversationId: string }
  | { type: "rename/local"; id: string; title: string }
  | { type: "awaiting"; conversationId: string; on: boolean }
  | { type: "answer/lost"; conversationId: string; why: "lost" | "none" }
  | { type: "notice"; kind: Notice["kind"]; text: string }
  | { type: "notice/dismiss"; id: number }
  | { type: "limit"; rateLimit: RateLimit | null }
  | { type: "budget"; budget: BudgetSeen }
  | { type: "server"; message: ServerMessage };

export function emptyList(mode: TeachingMode): ListState {
  return { mode, items: [], nextCursor: null, loading: false, loaded: false, error: null };
}

export function initialState(mode: TeachingMode = DEFAULT_TEACHING_MODE): State {
  return {
    auth: { status: "checking", user: null },
    connection: { status: "idle" },
    ready: false,
    config: null,
    mode,
    list: emptyList(mode),
    currentId: null,
    current: null,
    loadingCurrent: false,
    missingId: null,
    focusMessageId: null,
    streams: {},
    pending: null,
    awaitingStored: {},
    unanswered: {},
    flags: {},
    notices: [],
    noticeSeq: 0,
    search: emptySearch,
    rateLimit: null,
    budget: null,
  };
}

const MAX_NOTICES = 4;

function omit<T>(record: Record<string, T>, key: string): Record<string, T> {
  if (!(key in record)) return record;
  const next = { ...record };
  delete next[key];
  return next;
}

function byUpdatedDesc(a: ConversationSummary, b: ConversationSummary): number {
  return a.updated_at < b.updated_at ? 1 : a.updated_at > b.updated_at ? -1 : 0;
}

function summaryOf(c: Conversation): ConversationSummary {
  const { messages: _messages, has_more: _hasMore, ...summary } = c;
  return summary;
}

/** Insert or replace a summary, keeping newest-first order. */
function upsert(list: ListState, summary: ConversationSummary, insertIfMissing: boolean): ListState {
  if (summary.teaching_mode !== list.mode) return list;
  const idx = list.items.findIndex((c) => c.id === summary.id);
  if (idx < 0 && !insertIfMissing) return list;
  const items = idx < 0 ? [summary, ...list.items] : list.items.map((c, i) => (i === idx ? summary : c));
  return { ...list, items: items.slice().sort(byUpdatedDesc) };
}

function provisional(id: string, mode: TeachingMode, now: string): Conversation {
  return {
    id,
    title: "New conversation",
    teaching_mode: mode,
    created_at: now,
    updated_at: now,
    message_count: 0,
    last_message: null,
    messages: [],
    has_more: false,
  };
}

/**
 * One page of a conversation into what is shown: an older page (asked with
 * `before`) goes in front; the newest page replaces the messages it overlaps
 * and keeps the older ones loaded before them; a newest page with no overlap
 * (more was said elsewhere than one page holds) starts over from it.
 */
export function mergePage(current: Conversation | null, page: Conversation): Conversation {
  if (!current || current.id !== page.id || current.messages.length === 0) return page;
  if (page.messages.length === 0) return page.message_count === 0 ? page : { ...page, messages: current.messages, has_more: false };
  const first = current.messages[0]!;
  const last = page.messages.at(-1)!;
  if (last.timestamp < first.timestamp || (last.timestamp === first.timestamp && last.id < first.id)) {
    if (!current.messages.some((m) => m.id === last.id)) {
      return { ...page, messages: [...page.messages, ...current.messages], has_more: page.has_more };
    }
  }
  const inPage = new Set(page.messages.map((m) => m.id));
  const at = current.messages.findIndex((m) => inPage.has(m.id));
  if (at < 0) return page;
  const kept = current.messages.slice(0, at);
  return { ...page, messages: [...kept, ...page.messages], has_more: kept.length ? current.has_more : page.has_more };
}

function withMessage(c: Conversation, message: Message): Conversation {
  const idx = c.messages.findIndex((m) => m.id === message.id);
  const messages = idx < 0 ? [...c.messages, message] : c.messages.map((m, i) => (i === idx ? message : m));
  return {
    ...c,
    messages,
    message_count: idx < 0 ? c.message_count + 1 : c.message_count,
    updated_at: message.timestamp > c.updated_at ? message.timestamp : c.updated_at,
    last_message: { type: message.type, content: message.content },
  };
}

function bumpSummary(list: ListState, conversationId: string, message: Message, mode: TeachingMode | null): ListState {
  const existing = list.items.find((c) => c.id === conversationId);
  if (existing) {
    return upsert(
      list,
      {
        ...existing,
        updated_at: message.timestamp > existing.updated_at ? message.timestamp : existing.updated_at,
        message_count: existing.message_count + 1,
        last_message: { type: message.type, content: message.content },
      },
      false,
    );
  }
  if (mode === null) return list;
  const { messages: _m, ...summary } = withMessage(provisional(conversationId, mode, message.timestamp), message);
  return upsert(list, summary, true);
}

export function reducer(state: State, action: Action): State {
  const next = reduce(state, action);
  // Whatever made a conversation current replaces the not-found page.
  return next.missingId !== null && next.currentId !== null ? { ...next, missingId: null } : next;
}

function reduce(state: State, action: Action): State {
  switch (action.type) {
    case "connection":
      return { ...state, connection: action.state, ready: action.state.status === "open" ? state.ready : false };
    case "ready":
      return state.ready === action.ready ? state : { ...state, ready: action.ready };
    case "auth/checking":
      return { ...state, auth: { status: "checking", user: state.auth.user } };
    case "auth/signed_in":
      return { ...state, auth: { status: "signed_in", user: action.user } };
    case "auth/signed_out": {
      // Nothing of the previous user may stay on screen.
      const fresh = initialState(state.mode);
      return {
        ...fresh,
        auth: { status: "signed_out", user: null },
        connection: state.connection,
        config: state.config,
        notices: state.notices,
        noticeSeq: state.noticeSeq,
      };
    }
    case "config":
      return { ...state, config: action.config };
    case "mode":
      if (state.mode === action.mode) return state;
      return { ...state, mode: action.mode, list: emptyList(action.mode) };
    case "list/loading":
      if (action.mode !== state.list.mode) return state;
      return { ...state, list: { ...state.list, loading: true, error: null } };
    case "list/page": {
      if (action.mode !== state.list.mode) return state;
      const seen = action.reset ? new Set<string>() : new Set(state.list.items.map((c) => c.id));
      const fresh = action.items.filter((c) => !seen.has(c.id));
      const items = action.reset ? fresh : [...state.list.items, ...fresh];
      return {
        ...state,
        list: { ...state.list, items, nextCursor: action.nextCursor, loading: false, loaded: true, error: null },
      };
    }
    case "list/error":
      if (action.mode !== state.list.mode) return state;
      return { ...state, list: { ...state.list, loading: false, error: action.error } };
    case "open":
      return {
        ...state,
        currentId: action.id,
        current: state.current?.id === action.id ? state.current : null,
        loadingCurrent: true,
        missingId: null,
        focusMessageId: action.focusMessageId ?? null,
      };
    case "open/failed":
      if (state.currentId !== action.id) return state;
      return { ...state, currentId: null, current: null, loadingCurrent: false, missingId: action.missing ? action.id : null };
    case "focus":
      return { ...state, focusMessageId: action.messageId };
    case "search":
      return { ...state, search: action.search };
    case "focus/done":
      return state.focusMessageId === null ? state : { ...state, focusMessageId: null };
    case "blank":
      return { ...state, currentId: null, current: null, loadingCurrent: false, missingId: null };
    case "pending":
      return { ...state, pending: action.pending };
    case "streams/interrupt": {
      const streams: Record<string, StreamingAnswer> = {};
      for (const [k, s] of Object.entries(state.streams)) streams[k] = { ...s, interrupted: true };
      return { ...state, streams };
    }
    case "streams/drop":
      return { ...state, streams: omit(state.streams, action.conversationId) };
    case "rename/local": {
      const items = state.list.items.map((c) => (c.id === action.id ? { ...c, title: action.title } : c));
      const current = state.current?.id === action.id ? { ...state.current, title: action.title } : state.current;
      return { ...state, list: { ...state.list, items }, current };
    }
    case "awaiting":
      return {
        ...state,
        awaitingStored: action.on
          ? { ...state.awaitingStored, [action.conversationId]: true }
          : omit(state.awaitingStored, action.conversationId),
      };
    case "answer/lost":
      return {
        ...state,
        streams: omit(state.streams, action.conversationId),
        awaitingStored: omit(state.awaitingStored, action.conversationId),
        unanswered: { ...state.unanswered, [action.conversationId]: action.why },
      };
    case "notice": {
      const id = state.noticeSeq + 1;
      const notices = [...state.notices.filter((n) => n.text !== action.text), { id, kind: action.kind, text: action.text }];
      return { ...state, noticeSeq: id, notices: notices.slice(-MAX_NOTICES) };
    }
    case "notice/dismiss":
      return { ...state, notices: state.notices.filter((n) => n.id !== action.id) };
    case "limit":
      return { ...state, rateLimit: action.rateLimit };
    case "budget":
      return { ...state, budget: action.budget };
    case "server":
      return applyServerMessage(state, action.message);
  }
}

function applyServerMessage(state: State, msg: ServerMessage): State {
  switch (msg.type) {
    case "conversation_data": {
      const c = msg.conversation;
      // Empty conversations are listed only when open (the server keeps at most one per mode).
      let next: State = { ...state, list: upsert(state.list, summaryOf(c), c.message_count > 0 || c.id === state.currentId) };
      if (c.id === state.currentId) {
        next = { ...next, current: mergePage(state.current, c), loadingCurrent: false };
      }
      const stream = state.streams[c.id];
      const answered = (id: string) => c.messages.some((m) => m.id === id);
      // An interrupted stream is replaced by whatever answer was stored after the question.
      if (stream && (answered(stream.messageId) || (stream.interrupted && c.messages.at(-1)?.type === "ai"))) {
        next = { ...next, streams: omit(next.streams, c.id) };
      }
      if (state.awaitingStored[c.id] && c.messages.at(-1)?.type === "ai") {
        next = { ...next, awaitingStored: omit(next.awaitingStored, c.id) };
      }
      // Answered after all (or asked again elsewhere): nothing is missing any more.
      if (state.unanswered[c.id] && c.messages.at(-1)?.type !== "user") {
        next = { ...next, unanswered: omit(next.unanswered, c.id) };
      }
      return next;
    }
    case "conversation_updated": {
      // The summary only (title, counts, last message): the messages came as user_message / ai_response.
      const c = msg.conversation;
      let next: State = { ...state, list: upsert(state.list, c, c.message_count > 0 || c.id === state.currentId) };
      if (state.current && c.id === state.current.id) {
        next = { ...next, current: { ...state.current, ...c, messages: state.current.messages, has_more: state.current.has_more } };
      }
      return next;
    }
    case "conversation_deleted": {
      const id = msg.conversation_id;
      const list = { ...state.list, items: state.list.items.filter((c) => c.id !== id) };
      const wasCurrent = state.currentId === id;
      // The server names what to show instead (the latest of the mode or a fresh one); the controller loads it.
      const nextId = msg.current_conversation_id;
      return {
        ...state,
        list,
        currentId: wasCurrent ? nextId : state.currentId,
        current: wasCurrent ? null : state.current,
        loadingCurrent: wasCurrent ? nextId !== null : state.loadingCurrent,
        streams: omit(state.streams, id),
        awaitingStored: omit(state.awaitingStored, id),
        pending: state.pending?.conversationId === id ? null : state.pending,
      };
    }
    case "conversations_cleared": {
      const mode = msg.teaching_mode;
      const fresh = provisional(msg.new_conversation_id, mode, new Date().toISOString());
      const cleared = { ...emptyList(mode), loaded: true };
      const list = state.list.mode === mode ? upsert(cleared, summaryOf(fresh), true) : state.list;
      const currentCleared = state.current ? state.current.teaching_mode === mode : state.mode === mode;
      if (!currentCleared) return { ...state, list };
      return {
        ...state,
        list,
        currentId: msg.new_conversation_id,
        current: fresh,
        loadingCurrent: false,
        streams: {},
        pending: null,
        awaitingStored: {},
      };
    }
    case "user_message": {
      const convId = msg.conversation_id;
      let next = state.unanswered[convId] ? { ...state, unanswered: omit(state.unanswered, convId) } : state;
      const pending = state.pending;
      if (pending && pending.conversationId === null && state.currentId === null) {
        next = {
          ...next,
          currentId: convId,
          current: provisional(convId, pending.mode, msg.message.timestamp),
          loadingCurrent: false,
          pending: { ...pending, conversationId: convId, echoed: true },
        };
      } else if (pending && pending.conversationId === convId && !pending.echoed) {
        next = { ...next, pending: { ...pending, echoed: true } };
      }
      if (next.current && next.current.id === convId) {
        next = { ...next, current: withMessage(next.current, msg.message) };
      }
      const mode = next.current?.id === convId ? next.current.teaching_mode : null;
      return { ...next, list: bumpSummary(next.list, convId, msg.message, mode) };
    }
    case "ai_response_delta": {
      const convId = msg.conversation_id;
      const stream = state.streams[convId];
      let text: string;
      if (stream && stream.messageId === msg.message_id) {
        if (stream.interrupted) return state;
        text = stream.text + msg.delta;
      } else {
        text = msg.delta;
      }
      return {
        ...state,
        // An answer is coming after all (another tab asked again).
        unanswered: state.unanswered[convId] ? omit(state.unanswered, convId) : state.unanswered,
        streams: {
          ...state.streams,
          [convId]: { conversationId: convId, messageId: msg.message_id, text, interrupted: false },
        },
      };
    }
    case "ai_response": {
      const convId = msg.conversation_id;
      const flags: AnswerFlags = {};
      if (msg.topic_rejected) flags.topic_rejected = true;
      if (msg.error) flags.error = true;
      if (msg.cancelled) flags.cancelled = true;
      const message: Message = {
        id: msg.message_id,
        type: "ai",
        content: msg.text,
        timestamp: new Date().toISOString(),
        ...(msg.model ? { model: msg.model } : {}),
      };
      let next: State = {
        ...state,
        streams: omit(state.streams, convId),
        awaitingStored: omit(state.awaitingStored, convId),
        flags: Object.keys(flags).length ? { ...state.flags, [msg.message_id]: flags } : state.flags,
        pending:
          state.pending && (state.pending.conversationId === convId || state.pending.conversationId === null)
            ? null
            : state.pending,
      };
      // A cancelled answer with no text yet is not stored: nothing to show.
      if (next.current && next.current.id === convId && msg.text) {
        const known = next.current.messages.find((m) => m.id === msg.message_id);
        next = { ...next, current: withMessage(next.current, known ? { ...known, content: msg.text } : message) };
      }
      if (!msg.text) return next;
      const mode = next.current?.id === convId ? next.current.teaching_mode : null;
      return { ...next, list: bumpSummary(next.list, convId, message, mode) };
    }
    case "error":
      if (state.pending && msg.request_id !== undefined && msg.request_id === state.pending.requestId) {
        return { ...state, pending: null };
      }
      return state;
    default:
      return state;
  }
}

/** The answer streaming into the open conversation, unless it is already stored. */
export function selectStream(state: State): StreamingAnswer | null {
  if (!state.currentId) return null;
  const s = state.streams[state.currentId];
  if (!s) return null;
  if (state.current?.messages.some((m) => m.id === s.messageId)) return null;
  return s;
}
