// Events between a user's connections, on this instance or (through a
// PostgreSQL LISTEN/NOTIFY adapter of the same port) on others: another tab
// sees the rename, the new answer, the deletion; a logout ends every
// connection signed in with that token; a cancel reaches the turn it names.
//
// A HubEvent is a small plain-JSON object of ids and kinds — never a message
// body or a whole conversation — so it fits a NOTIFY payload (≤ 8000 bytes)
// and means the same on every instance. The receiving Session turns it into
// protocol messages, reading what it needs (e.g. the summary) from the store.
import type { ServerMessage, SessionEndReason, TeachingMode } from "@tutor/protocol";

export type HubEvent =
  /** A turn, a rename or a course change: receivers send `conversation_updated` with the stored summary. */
  | { kind: "conversation_updated"; userId: string; conversationId: string; origin: string }
  | { kind: "conversation_deleted"; userId: string; conversationId: string; currentConversationId: string | null; origin: string }
  | {
      kind: "conversations_cleared";
      userId: string;
      teachingMode: TeachingMode;
      deletedCount: number;
      newConversationId: string;
      origin: string;
    }
  /** Conversations were imported (`POST /api/import`): receivers send the first page of each mode's `conversations_list`. */
  | { kind: "conversations_imported"; userId: string; count: number; origin: string }
  /** Every connection signed in with `jti` (absent: with any token of the user) ends with `session_ended`. */
  | { kind: "session_ended"; userId: string; jti?: string | undefined; reason: SessionEndReason }
  /** `cancel_response` for a turn this connection does not run: whoever runs it stops it. */
  | { kind: "cancel_turn"; userId: string; conversationId: string; origin: string };

export type HubEventKind = HubEvent["kind"];

export interface EventHub {
  /**
   * Fire and forget: delivery may be asynchronous (another instance), and may
   * include the publisher. `userId` is the event's own (kept as a parameter so
   * adapters route without looking inside).
   */
  publish(userId: string, event: HubEvent): void;
  /** Listens to one user's events; returns the unsubscribe function. */
  subscribe(userId: string, listener: (event: HubEvent) => void): () => void;
}

/** Listeners by user id: what every hub adapter keeps for the connections it serves. */
export class HubListeners {
  readonly #byUser = new Map<string, Set<(event: HubEvent) => void>>();

  subscribe(userId: string, listener: (event: HubEvent) => void): () => void {
    let set = this.#byUser.get(userId);
    if (!set) this.#byUser.set(userId, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.#byUser.get(userId) === set) this.#byUser.delete(userId);
    };
  }

  /** The user's listeners, or undefined when none is here. A copy: a listener may unsubscribe (session ended) while they are called. */
  of(userId: string): ((event: HubEvent) => void)[] | undefined {
    const set = this.#byUser.get(userId);
    return set ? [...set] : undefined;
  }

  /** Users with at least one listener. */
  get userCount(): number {
    return this.#byUser.size;
  }
}

/** One instance: listeners by user id, called synchronously. */
export class InProcessHub implements EventHub {
  readonly #listeners = new HubListeners();

  publish(userId: string, event: HubEvent): void {
    for (const fn of this.#listeners.of(userId) ?? []) fn(event);
  }

  subscribe(userId: string, listener: (event: HubEvent) => void): () => void {
    return this.#listeners.subscribe(userId, listener);
  }

  /** Users with at least one listener (tests, metrics). */
  get userCount(): number {
    return this.#listeners.userCount;
  }
}

/**
 * The hub event that tells a user's other connections about a message just
 * sent to one of them, or undefined when it is not worth sharing (streamed
 * deltas, speech, replies only the asker needs).
 */
export function hubEventFor(message: ServerMessage, userId: string, origin: string): HubEvent | undefined {
  switch (message.type) {
    case "conversation_updated":
      return { kind: "conversation_updated", userId, conversationId: message.conversation.id, origin };
    case "conversation_deleted":
      return {
        kind: "conversation_deleted",
        userId,
        conversationId: message.conversation_id,
        currentConversationId: message.current_conversation_id,
        origin,
      };
    case "conversations_cleared":
      return {
        kind: "conversations_cleared",
        userId,
        teachingMode: message.teaching_mode,
        deletedCount: message.deleted_count,
        newConversationId: message.new_conversation_id,
        origin,
      };
    default:
      return undefined;
  }
}
