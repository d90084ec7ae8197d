// The store's search, export/import and account methods (issue 12), kept
// apart from the per-turn queries in store.ts. Every query is scoped by the
// owner's id like the rest of the store.
import { accountCounterKeys, type Logger, courseFromExport, courseToExport, lastIsPrefix, newId, readCourseState, searchTerms, snippet, type ExportedConversationRecord, type Store } from "@tutor/core";
import type { ExportedConversation, SearchResult, TeachingMode } from "@tutor/protocol";
import { sql, type Kysely } from "kysely";
import type { Database, DialectName } from "./db.js";
import { pgSearcher, type HitRow, type PgSearchTuning } from "./pg-search.js";
import { iso, toMessage } from "./store.js";

interface Host {
  readonly db: Kysely<Database>;
  readonly dialect: DialectName;
  readonly logger?: Logger | undefined;
}


const INSERT_BATCH = 500;

/** Notes `from -> to` (when the document named the message) and returns `to`. */
function remember(ids: Map<string, string>, from: string | undefined, to: string): string {
  if (from !== undefined) ids.set(from, to);
  return to;
}

/** How much of the newest history search reads before the general path (tests make it small). */
export interface SearchTuning extends PgSearchTuning {
  /** SQLite: candidates of a long prefix read by its first three letters before FTS5 merges the prefix. */
  sqliteCandidates: number;
}
export const SEARCH_TUNING: SearchTuning = { recentMessages: 2_000, recentConversations: 200, statsMaxAgeMs: 5 * 60_000, sqliteCandidates: 200 };
/** The longest prefix FTS5 keeps an index for (`prefix='2 3'` in migration 004). */
const FTS_PREFIX_INDEX = 3;

export function accountMethods(host: Host, tuning: SearchTuning = SEARCH_TUNING) {
  const { db, dialect } = host;
  const pg = dialect === "postgres" ? pgSearcher(db, tuning, host.logger) : null;

  /**
   * SQLite walks the FTS5 matches newest row first (rowids grow with every
   * append) and stops at the limit (sqliteSearch). PostgreSQL's plan is
   * chosen by the store from the lexeme statistics, not by the planner
   * (pg-search.ts). Snippets are made in JS from the rows returned only.
   */
  async function searchMessages(
    userId: string,
    options: { query: string; limit: number; teachingMode?: TeachingMode | undefined },
  ): Promise<SearchResult[]> {
    const terms = searchTerms(options.query);
    const rows =
      dialect === "sqlite"
        ? await sqliteSearch(userId, terms, options.limit, options.teachingMode)
        : await pg!.search(userId, terms, options.limit, options.teachingMode);
    return rows.map((r) => ({
      conversation_id: r.conversation_id,
      title: r.title,
      teaching_mode: r.teaching_mode,
      message_id: r.message_id,
      snippet: snippet(r.content, terms),
      timestamp: r.timestamp,
    }));
  }

  /**
   * FTS5 reads a word's rowid list incrementally in either direction, and a
   * 2- or 3-character prefix from its prefix index the same way; a longer
   * prefix it cannot: it merges the lists of every word with that prefix
   * before returning a row (a common word: ~4 ms; "func…" over a vocabulary
   * of function/functions/functional…: more). So a longer ASCII prefix is
   * first looked for among the newest messages matching its first three
   * letters (incremental), each checked in JS for a word starting with the
   * whole prefix, as unicode61 tokenizes ASCII; when `limit` of those match,
   * they are the newest hits (every hit is such a candidate). Otherwise, or
   * for other scripts (left to the tokenizer), FTS5 answers the whole query.
   */
  async function sqliteSearch(userId: string, terms: string[], limit: number, teachingMode: TeachingMode | undefined): Promise<HitRow[]> {
    // Each word a quoted FTS5 string (it holds only letters and digits).
    const quoted = (ts: string[]) => ts.map((t) => `"${t}"`);
    const head = quoted(terms.slice(0, -1));
    const last = terms.at(-1)!;
    const byMode = teachingMode ? sql`and c.teaching_mode = ${teachingMode}` : sql``;
    const run = (match: string, n: number) =>
      sql<HitRow>`
        select m.id as message_id, m.content, m.created_at as timestamp, c.id as conversation_id, c.title, c.teaching_mode
        from messages_fts f
        join messages m on m.rowid = f.rowid
        join conversations c on c.id = m.conversation_id
        where messages_fts match ${match} and c.user_id = ${userId} ${byMode}
        order by f.rowid desc
        limit ${n}
      `.execute(db);
    if (!lastIsPrefix(terms)) return (await run([...head, `"${last}"`].join(" "), limit)).rows;
    if (last.length > FTS_PREFIX_INDEX && /^[a-z0-9]+$/.test(last)) {
      const candidates = Math.max(tuning.sqliteCandidates, limit);
      const { rows } = await run([...head, `"${last.slice(0, FTS_PREFIX_INDEX)}"*`].join(" "), candidates);
      const starts = new RegExp(`(?<![\\p{L}\\p{N}\\p{Co}])${last}`, "iu");
      const hits = rows.filter((r) => starts.test(r.content));
      if (hits.length >= limit || rows.length < candidates) return hits.slice(0, limit);
    }
    return (await run([...head, `"${last}"*`].join(" "), limit)).rows;
  }

  async function exportConversations(userId: string, conversationId?: string): Promise<ExportedConversationRecord[]> {
    return db.transaction().setIsolationLevel("repeatable read").execute(async (tx) => {
      const convs = await tx
        .selectFrom("conversations")
        .select(["id", "title", "teaching_mode", "created_at", "updated_at", "course"])
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
      const byConv = new Map<string, ExportedConversationRecord>(
        convs.map(({ course: json, ...c }) => {
          const course = c.teaching_mode === "teacher" ? courseToExport(readCourseState(json)) : undefined;
          return [c.id, { ...c, messages: [], ...(course ? { course } : {}) }];
        }),
      );
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
        const newIds = new Map<string, string>();
        const rows = messages.map((m) => ({
          id: remember(newIds, m.id, newId(Date.parse(m.timestamp))),
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
            // Course progress names exercises by their answers' ids: renamed with the messages.
            course: c.course && c.teaching_mode === "teacher" ? JSON.stringify(courseFromExport(c.course, newIds)) : null,
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
      // The limiter's counters of this account (budgets, running slots, failed sign-ins), in the same transaction.
      const counters = accountCounterKeys(userId, user.username);
      await tx
        .deleteFrom("limit_counters")
        .where((eb) =>
          eb.or([
            eb("key", "in", counters.exact),
            ...counters.prefixes.map((p) => eb(sql<string>`substr(key, 1, ${p.length})`, "=", p)),
          ]),
        )
        .execute();
      // Tokens, conversations and messages go by cascade; the message triggers (SQLite) clean the search index.
      const r = await tx.deleteFrom("users").where("id", "=", userId).executeTakeFirst();
      return r.numDeletedRows > 0n;
    });
  }

  /** PostgreSQL: the plan a search would take (tests), null on SQLite. */
  const searchPlan = (terms: string[], limit: number) => pg?.plan(terms, limit) ?? Promise.resolve(null);
  /** PostgreSQL: reads the lexeme statistics again now (tests, after ANALYZE). */
  const refreshSearchStats = () => pg?.readStats() ?? Promise.resolve();

  const store = { searchMessages, exportConversations, importConversations, setPasswordHash, revokeUserTokens, deleteUser } satisfies Partial<Store>;
  return { ...store, searchPlan, refreshSearchStats };
}
