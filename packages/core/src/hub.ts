// Fan-out of a user's conversation updates to their other open connections
// (another tab sees the rename, the new answer, the deletion). The in-process
// hub serves one instance; a PostgreSQL LISTEN/NOTIFY hub can implement the
// same port for several.
import type { ServerMessage } from "@tutor/protocol";

export interface HubEvent {
  /** The connection that caused it; it already got the direct reply. */
  origin: string;
  message: ServerMessage;
}

export interface EventHub {
  publish(userId: string, event: HubEvent): void;
  subscribe(userId: string, listener: (event: HubEvent) => void): () => void;
}

export class InProcessHub implements EventHub {
  readonly #listeners = new Map<string, Set<(event: HubEvent) => void>>();

  publish(userId: string, event: HubEvent): void {
    const set = this.#listeners.get(userId);
    if (!set) return;
    for (const fn of set) fn(event);
  }

  subscribe(userId: string, listener: (event: HubEvent) => void): () => void {
    let set = this.#listeners.get(userId);
    if (!set) this.#listeners.set(userId, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.#listeners.delete(userId);
    };
  }
}

/** Messages worth showing in a user's other tabs (never streamed deltas or speech). */
export const SHARED_MESSAGE_TYPES: ReadonlySet<ServerMessage["type"]> = new Set([
  "conversation_data",
  "conversation_deleted",
  "conversations_cleared",
]);
