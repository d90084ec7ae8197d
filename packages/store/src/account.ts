// The store's search, export/import and account methods (issue 12), kept
// apart from the per-turn queries in store.ts. Every query is scoped by the
// owner's id like the rest of the store.
import { newId, searchTerms, snippet, type ExportedConversationRecord, type Store } from "@tutor/core";
import type { ExportedConversation, SearchResult, TeachingMode } from "@tutor/protocol";
import { sql, type Kysely } from "kysely";
import type { Database, DialectName } from "./db.js";
import { iso, toMessage } from "./store.js";

interface Host {
  readonly db: Kysely<Database>;
  readonly dialect: DialectName;
}

interface HitRow {
  message_id: string;
  content: string;
  timestamp: string;
  conversation_id: string;
  title: string;
  teaching_mode: TeachingMode;
}

const INSERT_BATCH = 500;

export function accountMethods(host: Host) {
  const { db, dialect } = host;

  /**
   * SQLite walks the FTS5 matches newest row first (rowids grow with every
   * append) and stops at the limit; PostgreSQL lets its planner pick the GIN
   * index (rare words) or the created_at index (common words).
   */
  async function searchMessages(
    userId: string,
    options: { query: string; limit: number; teachingMode?: TeachingMode | undefined },
  ): Promise<SearchResult[]> {
    const terms = searchTerms(options.query);
    const byMode = options.teachingMode ? sql`and c.teaching_mode = ${options.teachingMode}` : sql``;
    let rows: HitRow[];
    if (dialect === "sqlite") {
      // Each word a quoted FTS5 string (it holds only letters and digits), the last a prefix.
      const match = terms.map((t, i) => `"${t}"${i === terms.length - 1 ? "*" : ""}`).join(" ");
      ({ rows } = await sql<HitRow>`
        select m.id as message_id, m.content, m.created_at as timestamp, c.id as conversation_id, c.title, c.teaching_mode
        from messages_fts f
        join messages m on m.rowid = f.rowid
        join conversations c on c.id = m.conversation_id
        where messages_fts match ${match} and c.user_id = ${userId} ${byMode}
        order by f.rowid desc
        limit ${options.limit}
      `.execute(db));
    } else {
      const head = terms.slice(0, -1);
      const last = terms.at(-1)!;
      const whole = head.length ? sql`and m.search @@ websearch_to_tsquery('simple', ${head.map((t) => `"${t}"`).join(" ")})` : sql``;
      ({ rows } = await sql<HitRow>`
        select m.id as message_id, m.content, m.created_at as timestamp, c.id as conversation_id, c.title, c.teaching_mode
        from messages m
        join conversations c on c.id = m.conversation_id
        where c.user_id = ${userId} ${byMode}
          and m.search @@ to_tsquery('simple', ${`'${last}':*`}) ${whole}
        order by m.created_at desc, m.id desc
        limit ${options.limit}
      `.execute(db));
    }
    return rows.map((r) => ({
      conversation_id: r.conversation_id,
      title: r.title,
      teaching_mode: r.teaching_mode,
      message_id: r.message_id,
      snippet: snippet(r.content, terms),
      timestamp: r.timestamp,
    }));
  }

  async function exportConversations(userId: string, conversationId?: string): Promise<ExportedConversationRecord[]> {
    return db.transaction().setIsolationLevel("repeatable read").execute(async (tx) => {
      const convs = await tx
        .selectFrom("conversations")
        .select(["id", "title", "teaching_mode", "created_at", "updated_at"])
        .where("user_id", "=", userId)
        .$if(conversationId !== undefined, (q) => q.where("id", "=", conversationId!))
        .orderBy("created_at")
        .orderBy("id")
        .execute();
      if (convs.length === 0) return [];
      const messages = await tx
        .selectFrom("messages as m")
        .innerJoin("conversations as c", "c.id", "m.conversation_id")
        .select(["m.id", "m.conversation_id", "m.type", "m.content", "m.model", "m.created_at"])
        .where("c.user_id", "=", userId)
        .$if(conversationId !== undefined, (q) => q.where("c.id", "=", conversationId!))
        .orderBy("m.conversation_id")
        .orderBy("m.created_at")
        .orderBy("m.id")
        .execute();
      const byConv = new Map<string, ExportedConversationRecord>(convs.map((c) => [c.id, { ...c, messages: [] }]));
      for (const m of messages) byConv.get(m.conversation_id)?.messages.push(toMessage(m));
      return [...byConv.values()];
    });
  }

  async function importConversations(userId: string, conversations: ExportedConversation[]) {
    return db.transaction().execute(async (tx) => {
      const conversationIds: string[] = [];
      let messageCount = 0;
      const pending: Database["messages"][] = [];
      const flush = async () => {
        while (pending.length) await tx.insertInto("messages").values(pending.splice(0, INSERT_BATCH)).execute();
      };
      for (const c of conversations) {
        const id = newId(Date.parse(c.created_at));
        const messages = [...c.messages]
          .map((m) => ({ ...m, timestamp: iso(m.timestamp) }))
          .sort((a, b) => (a.timestamp < b.timestamp ? -1 : a.timestamp > b.timestamp ? 1 : 0));
        const rows = messages.map((m) => ({
          id: newId(Date.parse(m.timestamp)),
          conversation_id: id,
          type: m.type,
          content: m.content,
          model: m.model ?? null,
          created_at: m.timestamp,
        }));
        const updated = [iso(c.updated_at), ...rows.map((r) => r.created_at)].sort().at(-1)!;
        await tx
          .insertInto("conversations")
          .values({
            id,
            user_id: userId,
            title: c.title,
            teaching_mode: c.teaching_mode,
            created_at: iso(c.created_at),
            updated_at: updated,
            message_count: rows.length,
            last_message_id: rows.at(-1)?.id ?? null,
          })
          .execute();
        pending.push(...rows);
        if (pending.length >= INSERT_BATCH) await flush();
        conversationIds.push(id);
        messageCount += rows.length;
      }
      await flush();
      return { conversationIds, messageCount };
    });
  }

  async function setPasswordHash(userId: string, passwordHash: string): Promise<void> {
    await db.updateTable("users").set({ password_hash: passwordHash }).where("id", "=", userId).execute();
  }

  async function revokeUserTokens(userId: string, at: string, exceptJti?: string): Promise<string[]> {
    return db.transaction().execute(async (tx) => {
      const live = await tx
        .selectFrom("tokens")
        .select("jti")
        .where("user_id", "=", userId)
        .where("revoked_at", "is", null)
        .$if(exceptJti !== undefined, (q) => q.where("jti", "!=", exceptJti!))
        .execute();
      if (live.length === 0) return [];
      const jtis = live.map((t) => t.jti);
      await tx.updateTable("tokens").set({ revoked_at: iso(at) }).where("jti", "in", jtis).where("revoked_at", "is", null).execute();
      return jtis;
    });
  }

  async function deleteUser(userId: string): Promise<boolean> {
    return db.transaction().execute(async (tx) => {
      const user = await tx.selectFrom("users").select("username").where("id", "=", userId).executeTakeFirst();
      if (!user) return false;
      // Login throttling keys are `username|address`: they name the account too.
      const prefix = `${user.username.toLowerCase()}|`;
      await tx.deleteFrom("login_failures").where(sql<string>`substr(key, 1, ${prefix.length})`, "=", prefix).execute();
      // Tokens, conversations and messages go by cascade; the message triggers (SQLite) clean the search index.
      const r = await tx.deleteFrom("users").where("id", "=", userId).executeTakeFirst();
      return r.numDeletedRows > 0n;
    });
  }

  return { searchMessages, exportConversations, importConversations, setPasswordHash, revokeUserTokens, deleteUser } satisfies Partial<Store>;
}
