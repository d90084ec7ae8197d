// The student's conversations: the list and its pages, which one is open,
// new/rename/delete/clear, the mode, and waiting for an answer that will
// appear in storage (opened mid-answer, or its stream was cut).
import { DEFAULT_PAGE_SIZE } from "@tutor/protocol";
import type { ServerMessage, TeachingMode } from "@tutor/protocol";
import { RequestError } from "../protocol/transport.js";
import { readJson, writeJson } from "../lib/storage.js";
import { conversationInPath } from "./address.js";
import { failureText } from "./errors.js";
import { saveMode, type AppHub } from "./hub.js";

const LAST_KEY = "tutor.last";
/** An unanswered question younger than this is probably still being answered. */
const STILL_ANSWERING_MS = 3 * 60_000;
const POLL_MS = 2000;
/**
 * Two minutes of asking: longer than any turn may run (its deadline) plus a
 * dead connection's detection, so an answer still absent then was lost with
 * the server that was writing it.
 */
const POLL_TRIES = 60;
/** Messages per older page fetched while scrolling up. */
const OLDER_PAGE = 100;

export class Conversations {
  private polling = new Set<string>();
  private readonly pollMs: number;
  private readonly pollTries: number;

  constructor(
    private readonly hub: AppHub,
    opts: { pollMs?: number; pollTries?: number } = {},
  ) {
    this.pollMs = opts.pollMs ?? POLL_MS;
    this.pollTries = opts.pollTries ?? POLL_TRIES;
  }

  /** Server messages about conversations that need more than the reducer; true when handled. */
  handle(msg: ServerMessage, awaited: boolean): boolean {
    const { hub } = this;
    switch (msg.type) {
      case "conversations_list": {
        const mode = hub.state().mode;
        if (!awaited && (msg.teaching_mode ?? mode) === mode) {
          hub.dispatch({ type: "list/page", mode, items: msg.conversations, nextCursor: msg.next_cursor, reset: true });
        }
        return true;
      }
      case "conversation_updated": {
        // Only the summary comes. When it says the open conversation grew or changed elsewhere
        // (another tab, device or server instance), fetch its newest page; a turn of this tab
        // already brought its own messages.
        const before = hub.state().current;
        hub.dispatch({ type: "server", message: msg });
        const c = msg.conversation;
        if (awaited || !before || before.id !== c.id || hub.state().streams[c.id]) return true;
        const lastShown = before.messages.at(-1);
        const changed =
          c.message_count !== before.message_count ||
          (c.last_message !== null && (lastShown?.content !== c.last_message.content || lastShown.type !== c.last_message.type));
        if (changed) void this.fetch(c.id);
        return true;
      }
      case "conversation_deleted": {
        const wasCurrent = hub.state().currentId === msg.conversation_id;
        hub.dispatch({ type: "server", message: msg });
        const next = msg.current_conversation_id;
        if (wasCurrent && next) {
          this.remember(hub.state().mode, next);
          void this.fetch(next);
        }
        return true;
      }
      case "conversations_cleared": {
        hub.dispatch({ type: "server", message: msg });
        if (hub.state().currentId === msg.new_conversation_id) {
          this.remember(msg.teaching_mode, msg.new_conversation_id);
          void this.fetch(msg.new_conversation_id);
        }
        return true;
      }
      default:
        return false;
    }
  }

  // ------------------------------------------------------------ remembered

  /** The conversation last shown in a mode, for the signed-in user. */
  last(mode: TeachingMode): string | null {
    const user = this.hub.state().auth.user;
    if (!user) return null;
    const all = readJson<Record<string, Partial<Record<TeachingMode, string>>>>(LAST_KEY, {});
    return all[user.id]?.[mode] ?? null;
  }

  remember(mode: TeachingMode, id: string | null): void {
    const user = this.hub.state().auth.user;
    if (!user) return;
    const all = readJson<Record<string, Partial<Record<TeachingMode, string>>>>(LAST_KEY, {});
    const mine = { ...all[user.id] };
    if (id) mine[mode] = id;
    else delete mine[mode];
    writeJson(LAST_KEY, { ...all, [user.id]: mine });
  }

  /** After a fresh sign-in: the conversation the address names, else what was shown last in the mode. */
  async openLast(): Promise<void> {
    const named = conversationInPath(this.hub.path());
    if (named) return this.open(named);
    const last = this.last(this.hub.state().mode);
    if (last) await this.open(last);
  }

  // ------------------------------------------------------------ navigation

  async setMode(mode: TeachingMode): Promise<void> {
    const { hub } = this;
    if (mode === hub.state().mode) return;
    saveMode(mode);
    hub.dispatch({ type: "mode", mode });
    void this.loadList(true);
    const last = this.last(mode);
    if (last) await this.open(last);
    else hub.dispatch({ type: "blank" });
  }

  /** Opens the mode's empty conversation (the server reuses one if it exists). */
  async create(): Promise<void> {
    const { hub } = this;
    const state = hub.state();
    const mode = state.mode;
    if (state.current && state.current.messages.length === 0 && state.current.teaching_mode === mode) return;
    if (!state.ready) {
      hub.dispatch({ type: "blank" });
      return;
    }
    try {
      const res = await hub.client.request({ type: "new_conversation", teaching_mode: mode });
      if (res.type !== "conversation_data" || hub.state().mode !== mode) return;
      hub.dispatch({ type: "open", id: res.conversation.id });
      hub.dispatch({ type: "server", message: res });
      this.remember(mode, res.conversation.id);
    } catch (err) {
      hub.notify("error", failureText(err));
    }
  }

  /** The open conversation, or a new one of the mode (voice needs to know where questions go). */
  async ensure(): Promise<string | null> {
    if (this.hub.state().currentId) return this.hub.state().currentId;
    await this.create();
    return this.hub.state().currentId;
  }

  /** Shows a conversation; `focusMessageId`: scroll to that message (a search result). */
  async open(id: string, focusMessageId?: string): Promise<void> {
    const { hub } = this;
    if (hub.state().currentId === id && hub.state().current) {
      if (focusMessageId) hub.dispatch({ type: "focus", messageId: focusMessageId });
      return;
    }
    hub.dispatch({ type: "open", id, ...(focusMessageId ? { focusMessageId } : {}) });
    await this.fetch(id);
    const state = hub.state();
    const c = state.current;
    if (c?.id !== id) return;
    if (c.teaching_mode !== state.mode) {
      saveMode(c.teaching_mode);
      hub.dispatch({ type: "mode", mode: c.teaching_mode });
      void this.loadList(true);
    }
    this.remember(c.teaching_mode, id);
    // Reloaded or switched back mid-answer: the answer will be in storage soon.
    // Asked long ago and still unanswered: no turn runs that long, so none is coming.
    const last = c.messages.at(-1);
    if (last?.type === "user" && !hub.state().streams[id]) {
      if (Date.now() - Date.parse(last.timestamp) < STILL_ANSWERING_MS) {
        hub.dispatch({ type: "awaiting", conversationId: id, on: true });
        void this.pollStored(id);
      } else {
        hub.dispatch({ type: "answer/lost", conversationId: id, why: "none" });
      }
    }
  }

  /** Ask for a conversation; the reply (`conversation_data`) goes through the reducer. */
  async fetch(id: string): Promise<void> {
    const { hub } = this;
    try {
      await hub.client.request({ type: "get_conversation", conversation_id: id });
    } catch (err) {
      if (err instanceof RequestError && err.code === "not_found") {
        // Unknown or someone else's: the chat pane shows the not-found page with a way on.
        hub.dispatch({ type: "open/failed", id, missing: true });
        if (this.last(hub.state().mode) === id) this.remember(hub.state().mode, null);
      } else if (err instanceof RequestError && (err.code === "connection_lost" || err.code === "not_connected")) {
        // Refetched after the reconnect.
      } else {
        hub.dispatch({ type: "open/failed", id });
        hub.notify("error", failureText(err));
      }
      return;
    }
    if (hub.state().awaitingStored[id]) void this.pollStored(id);
  }

  private loadingOlder: string | null = null;

  /** The page before the oldest message shown (the student scrolled to the top). */
  async loadOlder(): Promise<void> {
    const { hub } = this;
    const c = hub.state().current;
    const oldest = c?.messages[0];
    if (!c || !c.has_more || !oldest || !hub.state().ready || this.loadingOlder === c.id) return;
    this.loadingOlder = c.id;
    try {
      await hub.client.request({ type: "get_conversation", conversation_id: c.id, before: oldest.id, limit: OLDER_PAGE });
    } catch (err) {
      if (!(err instanceof RequestError && (err.code === "connection_lost" || err.code === "not_connected"))) hub.notify("error", failureText(err));
    } finally {
      this.loadingOlder = null;
    }
  }

  private async pollStored(id: string): Promise<void> {
    const { hub } = this;
    if (this.polling.has(id)) return;
    this.polling.add(id);
    // Whether the last look at storage succeeded: only then does "still no answer" mean anything.
    let looked = false;
    try {
      for (let i = 0; i < this.pollTries && hub.state().awaitingStored[id]; i++) {
        await new Promise((r) => setTimeout(r, this.pollMs));
        const state = hub.state();
        if (!state.awaitingStored[id]) break;
        looked = false;
        if (!state.ready) continue;
        if (state.currentId !== id) break;
        try {
          await hub.client.request({ type: "get_conversation", conversation_id: id });
          looked = true;
        } catch {
          // Keep polling; a not_found conversation is cleared by the delete handler.
        }
      }
    } finally {
      this.polling.delete(id);
      const state = hub.state();
      if (state.awaitingStored[id] && state.currentId === id) {
        const last = state.current?.id === id ? state.current.messages.at(-1) : undefined;
        // Awaited past any turn's deadline and still unanswered: it died with its server; say so.
        if (looked && last?.type === "user") hub.dispatch({ type: "answer/lost", conversationId: id, why: "lost" });
        else hub.dispatch({ type: "awaiting", conversationId: id, on: false });
      }
    }
  }

  async loadList(reset: boolean): Promise<void> {
    const { hub } = this;
    const { list, mode, ready, config } = hub.state();
    if (!ready || (!reset && (list.loading || !list.nextCursor))) return;
    hub.dispatch({ type: "list/loading", mode });
    const pageSize = config?.limits.page_size ?? DEFAULT_PAGE_SIZE;
    try {
      const res = await hub.client.request({
        type: "list_conversations",
        limit: pageSize,
        teaching_mode: mode,
        ...(reset || !list.nextCursor ? {} : { cursor: list.nextCursor }),
      });
      if (res.type === "conversations_list") {
        hub.dispatch({ type: "list/page", mode, items: res.conversations, nextCursor: res.next_cursor, reset });
      }
    } catch (err) {
      hub.dispatch({ type: "list/error", mode, error: failureText(err) });
    }
  }

  // ------------------------------------------------------------ management

  private silenceStreams(): void {
    this.hub.speech.silence(Object.values(this.hub.state().streams).map((s) => s.messageId));
  }

  /** Returns an error to show, or null. */
  async rename(id: string, title: string): Promise<string | null> {
    const { hub } = this;
    const clean = title.trim();
    if (!clean) return "A title cannot be empty.";
    if (clean.length > 200) return "Keep the title under 200 characters.";
    const state = hub.state();
    const before = state.list.items.find((c) => c.id === id)?.title ?? state.current?.title;
    hub.dispatch({ type: "rename/local", id, title: clean });
    try {
      await hub.client.request({ type: "rename_conversation", conversation_id: id, title: clean });
      return null;
    } catch (err) {
      if (before !== undefined) hub.dispatch({ type: "rename/local", id, title: before });
      return failureText(err);
    }
  }

  async remove(id: string): Promise<string | null> {
    const { hub } = this;
    const state = hub.state();
    const mode = state.list.items.find((c) => c.id === id)?.teaching_mode ?? state.mode;
    if (id === state.currentId) this.silenceStreams();
    let res: ServerMessage;
    try {
      res = await hub.client.request({ type: "delete_conversation", conversation_id: id });
    } catch (err) {
      return failureText(err);
    }
    if (this.last(mode) === id) {
      this.remember(mode, res.type === "conversation_deleted" ? res.current_conversation_id : null);
    }
    return null;
  }

  async clearAll(mode: TeachingMode): Promise<string | null> {
    this.silenceStreams();
    try {
      const res = await this.hub.client.request({ type: "clear_all_conversations", teaching_mode: mode });
      if (res.type === "conversations_cleared") this.remember(mode, res.new_conversation_id);
      return null;
    } catch (err) {
      return failureText(err);
    }
  }
}
