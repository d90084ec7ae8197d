// Conversation management, always scoped to the signed-in user.
import { DEFAULT_MESSAGE_PAGE, DEFAULT_PAGE_SIZE, DEFAULT_SEARCH_LIMIT, type SearchResult, type Conversation, type ConversationSummary, type Message, type TeachingMode } from "@tutor/protocol";
import { NotFoundError } from "./errors.js";
import type { ConversationPage, Store } from "./ports.js";

export const NEW_CONVERSATION_TITLE = "New conversation";

/** The title a conversation gets from its first question, before the model improves it. */
export function provisionalTitle(question: string, max = 60): string {
  const flat = question.replace(/\[\/?EXPLAIN\]/g, "").replace(/\s+/g, " ").trim();
  if (flat.length <= max) return flat || NEW_CONVERSATION_TITLE;
  const cut = flat.slice(0, max);
  const space = cut.lastIndexOf(" ");
  return `${(space > max / 2 ? cut.slice(0, space) : cut).replace(/[\s,.;:!?-]+$/, "")}…`;
}

export class ConversationService {
  constructor(private readonly store: Store) {}

  /** Reuses an empty conversation of the mode if there is one. */
  async create(userId: string, teachingMode: TeachingMode): Promise<ConversationSummary> {
    return (
      (await this.store.findEmptyConversation(userId, teachingMode)) ??
      (await this.store.createConversation(userId, { teachingMode, title: NEW_CONVERSATION_TITLE }))
    );
  }

  /** One page of messages: the newest `limit` (default 100) older than `before`, with `has_more`. */
  async get(userId: string, conversationId: string, page: { limit?: number | undefined; before?: string | undefined } = {}): Promise<Conversation> {
    const c = await this.store.getConversation(userId, conversationId, { limit: page.limit ?? DEFAULT_MESSAGE_PAGE, before: page.before });
    if (!c) throw new NotFoundError();
    return c;
  }

  async summary(userId: string, conversationId: string): Promise<ConversationSummary> {
    const c = await this.store.getConversationSummary(userId, conversationId);
    if (!c) throw new NotFoundError();
    return c;
  }

  /** The last `limit` messages, oldest first ([] when the conversation is not the user's). */
  async recent(userId: string, conversationId: string, limit: number): Promise<Message[]> {
    if (limit <= 0) return [];
    return this.store.recentMessages(userId, conversationId, limit);
  }

  /** One message of the user's conversation (undefined when not there or not theirs). */
  message(userId: string, conversationId: string, messageId: string): Promise<Message | undefined> {
    return this.store.getMessage(userId, conversationId, messageId);
  }

  list(
    userId: string,
    opts: { limit?: number | undefined; cursor?: string | null | undefined; teachingMode?: TeachingMode | undefined },
  ): Promise<ConversationPage> {
    return this.store.listConversations(userId, {
      limit: opts.limit ?? DEFAULT_PAGE_SIZE,
      cursor: opts.cursor ?? undefined,
      teachingMode: opts.teachingMode,
    });
  }

  /** The renamed conversation's summary (what `conversation_updated` carries). */
  async rename(userId: string, conversationId: string, title: string): Promise<ConversationSummary> {
    if (!(await this.store.renameConversation(userId, conversationId, title))) throw new NotFoundError();
    return this.summary(userId, conversationId);
  }

  /** Deletes and answers which conversation the client should show now (never none). */
  async delete(userId: string, conversationId: string): Promise<{ currentConversationId: string }> {
    const victim = await this.store.getConversationSummary(userId, conversationId);
    if (!victim || !(await this.store.deleteConversation(userId, conversationId))) throw new NotFoundError();
    const next =
      (await this.store.latestConversation(userId, victim.teaching_mode)) ?? (await this.create(userId, victim.teaching_mode));
    return { currentConversationId: next.id };
  }

  /** The user's messages matching `query`, newest first (invalid_message when it has no word). */
  search(userId: string, query: string, opts: { limit?: number | undefined; teachingMode?: TeachingMode | undefined } = {}): Promise<SearchResult[]> {
    return this.store.searchMessages(userId, { query, limit: opts.limit ?? DEFAULT_SEARCH_LIMIT, teachingMode: opts.teachingMode });
  }

  async clear(userId: string, teachingMode: TeachingMode): Promise<{ deletedCount: number; conversation: ConversationSummary }> {
    return this.store.clearConversations(userId, teachingMode, NEW_CONVERSATION_TITLE);
  }
}
