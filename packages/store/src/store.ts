// The Store port over Kysely. One implementation for both dialects: every
// query is plain Kysely, and every conversation/message query is scoped by
// the owner's id, so another user's row looks exactly like a missing one.
import {
  ConflictError,
  NotFoundError,
  TutorError,
  newId,
  readCourseState,
  toCourse,
  type CourseState,
  type ListOptions,
  type MessagePage,
  type NewMessage,
  type Store,
  type UserRecord,
} from "@tutor/core";
import { DEFAULT_MESSAGE_PAGE, type Conversation, type ConversationSummary, type Message, type TeachingMode } from "@tutor/protocol";
import { accountMethods } from "./account.js";
import type SqliteDatabase from "better-sqlite3";
import { CompiledQuery, sql, type Kysely, type Selectable } from "kysely";
import { UNIQUE_INDEX, type Database, type DialectName, type MessagesTable } from "./db.js";
import type { Checkpointer } from "./checkpointer.js";

type Db = Kysely<Database>;

// Process-monotonic wall clock: a clock step backwards must not reorder
// messages that sort by (created_at, id).
let lastNow = 0;
function now(): string {
  lastNow = Math.max(Date.now(), lastNow);
  return new Date(lastNow).toISOString();
}

/** Normalises a caller's timestamp so text comparisons in SQLite are chronological. */
export function iso(at: string): string {
  return new Date(at).toISOString();
}

// ---------------------------------------------------------------- listing

/** Conversation columns with the derived count and the newest message, joined by primary key. */
function summaries(db: Db) {
  return db
    .selectFrom("conversations as c")
    .leftJoin("messages as m", "m.id", "c.last_message_id")
    .select([
      "c.id",
      "c.title",
      "c.teaching_mode",
      "c.created_at",
      "c.updated_at",
      "c.message_count",
      "m.type as last_type",
      "m.content as last_content",
      "c.course",
    ]);
}

type SummaryRow = Awaited<ReturnType<ReturnType<typeof summaries>["executeTakeFirstOrThrow"]>>;

function toSummary(r: SummaryRow): ConversationSummary {
  const course = r.teaching_mode === "teacher" ? toCourse(readCourseState(r.course)) : undefined;
  return {
    ...(course ? { course } : {}),
    id: r.id,
    title: r.title,
    teaching_mode: r.teaching_mode,
    created_at: r.created_at,
    updated_at: r.updated_at,
    message_count: r.message_count,
    last_message: r.last_type == null ? null : { type: r.last_type, content: r.last_content ?? "" },
  };
}

export function toMessage(r: Selectable<MessagesTable>): Message {
  const m: Message = { id: r.id, type: r.type, content: r.content, timestamp: r.created_at };
  if (r.model != null) m.model = r.model;
  return m;
}

function encodeCursor(updatedAt: string, id: string): string {
  return Buffer.from(`${updatedAt}|${id}`).toString("base64url");
}

function decodeCursor(cursor: string): [string, string] {
  const [updatedAt, id, extra] = Buffer.from(cursor, "base64url").toString().split("|");
  if (!updatedAt || !id || extra !== undefined || Number.isNaN(Date.parse(updatedAt))) {
    throw new TutorError("invalid_message", "cursor is not one this server handed out");
  }
  return [iso(updatedAt), id];
}

function conflictField(err: unknown): "username" | "email" | undefined {
  const e = err as { code?: unknown; constraint?: unknown; message?: unknown };
  // PostgreSQL names the violated index in `constraint`; SQLite only in the message.
  const where =
    e.code === "23505" ? String(e.constraint) : e.code === "SQLITE_CONSTRAINT_UNIQUE" ? String(e.message) : "";
  if (where.includes(UNIQUE_INDEX.username)) return "username";
  if (where.includes(UNIQUE_INDEX.email)) return "email";
  return undefined;
}

/** Explicit, so PostgreSQL's generated search column never travels with a message. */
const MESSAGE_COLUMNS = ["id", "conversation_id", "type", "content", "model", "created_at"] as const;

/** A stand-in compiled where a per-call value goes (a template holds nothing else); NUL-prefixed to stand out. */
const slot = <T>(name: string) => `\0${name}` as unknown as T;

/** Fills a template's slots with this call's values; every other parameter stays as compiled. */
function bind<R>(template: CompiledQuery<R>, values: Record<string, unknown>): CompiledQuery<R> {
  const parameters = template.parameters.map((p) => (typeof p === "string" && p.startsWith("\0") ? values[p.slice(1)] : p));
  return CompiledQuery.raw(template.sql, parameters) as CompiledQuery<R>;
}

/** Compiled listing queries by shape (mode filter or not, cursor or not); see pageQuery. */
export type PageTemplates = Map<string, CompiledQuery<SummaryRow>>;

/**
 * One listing page plus one extra row that tells whether another page
 * exists, compiled with this call's values. Building and compiling a Kysely
 * query costs over a quarter of a whole page on SQLite, so each of the four
 * shapes is compiled once into `templates` with slots for the values, and a
 * call only binds them. Exported for EXPLAIN in tests and the benchmark.
 */
export function pageQuery(db: Db, userId: string, options: ListOptions, templates: PageTemplates = new Map()): CompiledQuery<SummaryRow> {
  const after = options.cursor ? decodeCursor(options.cursor) : undefined;
  const byMode = options.teachingMode !== undefined;
  const key = `${byMode}:${after !== undefined}`;
  let template = templates.get(key);
  if (!template) {
    template = summaries(db)
      .where("c.user_id", "=", slot<string>("user"))
      .$if(byMode, (q) => q.where("c.teaching_mode", "=", slot<TeachingMode>("mode")))
      .$if(after !== undefined, (q) =>
        q.where((eb) => eb(eb.refTuple("c.updated_at", "c.id"), "<", eb.tuple(slot<string>("afterAt"), slot<string>("afterId")))),
      )
      .orderBy("c.updated_at", "desc")
      .orderBy("c.id", "desc")
      .limit(slot<number>("limit"))
      .compile();
    templates.set(key, template);
  }
  return bind(template, { user: userId, mode: options.teachingMode, afterAt: after?.[0], afterId: after?.[1], limit: options.limit + 1 });
}

/**
 * The queries of every tutoring turn, compiled once per store like the
 * listing's: building and compiling a Kysely query cost more CPU than SQLite
 * spent running these small indexed statements.
 */
function turnQueries(db: Db) {
  const user = slot<string>("user");
  const conv = slot<string>("conv");
  const mode = slot<TeachingMode>("mode");
  const at = slot<string>("at");
  const latest = (emptyOnly: boolean) =>
    summaries(db)
      .where("c.user_id", "=", user)
      .where("c.teaching_mode", "=", mode)
      .$if(emptyOnly, (q) => q.where("c.message_count", "=", 0))
      .orderBy("c.updated_at", "desc")
      .orderBy("c.id", "desc")
      .limit(1)
      .compile();
  return {
    summary: summaries(db).where("c.user_id", "=", user).where("c.id", "=", conv).compile(),
    latest: latest(false),
    empty: latest(true),
    // A page is the newest `limit` (+1 to tell whether older ones exist) before a
    // message's (created_at, id): a keyset range scan over messages_conversation_created.
    newest: db
      .selectFrom("messages")
      .select(MESSAGE_COLUMNS)
      .where("conversation_id", "=", conv)
      .orderBy("created_at", "desc")
      .orderBy("id", "desc")
      .limit(slot<number>("limit"))
      .compile(),
    older: db
      .selectFrom("messages")
      .select(MESSAGE_COLUMNS)
      .where("conversation_id", "=", conv)
      .where((eb) => eb(eb.refTuple("created_at", "id"), "<", eb.tuple(slot<string>("beforeAt"), slot<string>("beforeId"))))
      .orderBy("created_at", "desc")
      .orderBy("id", "desc")
      .limit(slot<number>("limit"))
      .compile(),
    messageAt: db.selectFrom("messages").select(["created_at", "id"]).where("id", "=", slot<string>("id")).where("conversation_id", "=", conv).compile(),
    recent: db
      .selectFrom("messages as m")
      .innerJoin("conversations as c", "c.id", "m.conversation_id")
      .select(MESSAGE_COLUMNS.map((col) => `m.${col}` as const))
      .where("c.user_id", "=", user)
      .where("m.conversation_id", "=", conv)
      .orderBy("m.created_at", "desc")
      .orderBy("m.id", "desc")
      .limit(slot<number>("limit"))
      .compile(),
    rename: db
      .updateTable("conversations")
      .set({ title: slot<string>("title"), updated_at: at })
      .where("id", "=", conv)
      .where("user_id", "=", user)
      .compile(),
    renameIf: db
      .updateTable("conversations")
      .set({ title: slot<string>("title"), updated_at: at })
      .where("id", "=", conv)
      .where("user_id", "=", user)
      .where("title", "=", slot<string>("expected"))
      .compile(),
    message: db
      .selectFrom("messages as m")
      .innerJoin("conversations as c", "c.id", "m.conversation_id")
      .select(MESSAGE_COLUMNS.map((col) => `m.${col}` as const))
      .where("c.user_id", "=", user)
      .where("m.conversation_id", "=", conv)
      .where("m.id", "=", slot<string>("id"))
      .compile(),
    lock: db.selectFrom("conversations").select("id").where("id", "=", conv).where("user_id", "=", user).forUpdate().compile(),
    bump: db
      .updateTable("conversations")
      .set((eb) => ({ updated_at: at, message_count: eb("message_count", "+", 1), last_message_id: slot<string>("id") }))
      .where("id", "=", conv)
      .where("user_id", "=", user)
      .compile(),
    insertMessage: db
      .insertInto("messages")
      .values({
        id: slot<string>("id"),
        conversation_id: conv,
        type: slot<MessagesTable["type"]>("type"),
        content: slot<string>("content"),
        model: slot<string | null>("model"),
        created_at: at,
      })
      .compile(),
  };
}

async function insertConversation(db: Db, userId: string, teachingMode: TeachingMode, title: string): Promise<ConversationSummary> {
  const at = now();
  const id = newId(Date.parse(at));
  await db
    .insertInto("conversations")
    .values({ id, user_id: userId, title, teaching_mode: teachingMode, created_at: at, updated_at: at })
    .execute();
  return { id, title, teaching_mode: teachingMode, created_at: at, updated_at: at, message_count: 0, last_message: null };
}

// ---------------------------------------------------------------- the adapter

export class KyselyStore implements Store {
  readonly #pageTemplates: PageTemplates = new Map();
  readonly #q: ReturnType<typeof turnQueries>;

  constructor(
    readonly db: Db,
    readonly dialect: DialectName,
    private readonly checkpointer?: Checkpointer,
    /** SQLite: the better-sqlite3 handle under `db` (Connected.sqlite), for the limiter's synchronous path. */
    readonly sqlite?: SqliteDatabase.Database,
  ) {
    this.#q = turnQueries(db);
    this.#account = accountMethods({ db, dialect });
  }

  async createUser(input: { username: string; email: string | null; passwordHash: string }): Promise<UserRecord> {
    const user: UserRecord = {
      id: newId(),
      username: input.username,
      email: input.email,
      password_hash: input.passwordHash,
      created_at: now(),
      last_login: null,
    };
    try {
      await this.db.insertInto("users").values(user).execute();
    } catch (err) {
      const field = conflictField(err);
      if (field) throw new ConflictError(field);
      throw err;
    }
    return user;
  }

  findUserByUsername(username: string): Promise<UserRecord | undefined> {
    return this.db
      .selectFrom("users")
      .selectAll()
      .where(sql<string>`lower(username)`, "=", username.toLowerCase())
      .executeTakeFirst();
  }

  findUserById(id: string): Promise<UserRecord | undefined> {
    return this.db.selectFrom("users").selectAll().where("id", "=", id).executeTakeFirst();
  }

  async setLastLogin(userId: string, at: string): Promise<void> {
    await this.db.updateTable("users").set({ last_login: iso(at) }).where("id", "=", userId).execute();
  }

  async insertToken(token: { jti: string; userId: string; expiresAt: string }): Promise<void> {
    await this.db
      .insertInto("tokens")
      .values({ jti: token.jti, user_id: token.userId, expires_at: iso(token.expiresAt), revoked_at: null })
      .execute();
  }

  findToken(jti: string) {
    return this.db.selectFrom("tokens").selectAll().where("jti", "=", jti).executeTakeFirst();
  }

  async revokeToken(jti: string, at: string): Promise<void> {
    // The first revocation time is the one that counts.
    await this.db
      .updateTable("tokens")
      .set({ revoked_at: iso(at) })
      .where("jti", "=", jti)
      .where("revoked_at", "is", null)
      .execute();
  }

  async recordLoginFailure(key: string, at: string): Promise<void> {
    await this.db.insertInto("login_failures").values({ key, at: iso(at) }).execute();
  }

  async loginFailures(key: string, since: string): Promise<{ count: number; oldest: string | null }> {
    const r = await this.db
      .selectFrom("login_failures")
      .select((eb) => [eb.fn.countAll<number>().as("count"), eb.fn.min("at").as("oldest")])
      .where("key", "=", key)
      .where("at", ">=", iso(since))
      .executeTakeFirstOrThrow();
    return { count: Number(r.count), oldest: r.oldest ?? null };
  }

  async clearLoginFailures(key: string): Promise<void> {
    await this.db.deleteFrom("login_failures").where("key", "=", key).execute();
  }

  async pruneTokens(before: string): Promise<number> {
    const r = await this.db.deleteFrom("tokens").where("expires_at", "<", iso(before)).executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  async pruneLoginFailures(before: string): Promise<number> {
    const r = await this.db.deleteFrom("login_failures").where("at", "<", iso(before)).executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  // ---------------------------------------------------------------- conversations

  createConversation(userId: string, input: { teachingMode: TeachingMode; title: string }): Promise<ConversationSummary> {
    return insertConversation(this.db, userId, input.teachingMode, input.title);
  }

  async findEmptyConversation(userId: string, teachingMode: TeachingMode): Promise<ConversationSummary | undefined> {
    const { rows } = await this.db.executeQuery(bind(this.#q.empty, { user: userId, mode: teachingMode }));
    return rows[0] && toSummary(rows[0]);
  }

  async latestConversation(userId: string, teachingMode: TeachingMode): Promise<ConversationSummary | undefined> {
    const { rows } = await this.db.executeQuery(bind(this.#q.latest, { user: userId, mode: teachingMode }));
    return rows[0] && toSummary(rows[0]);
  }

  async getConversationSummary(userId: string, conversationId: string): Promise<ConversationSummary | undefined> {
    const { rows } = await this.db.executeQuery(bind(this.#q.summary, { user: userId, conv: conversationId }));
    return rows[0] && toSummary(rows[0]);
  }

  async getConversation(userId: string, conversationId: string, page: MessagePage = { limit: DEFAULT_MESSAGE_PAGE }): Promise<Conversation | undefined> {
    const q = this.#q;
    const limit = page.limit + 1;
    // One snapshot, so the summary's count and last message agree with the
    // messages returned (SQLite transactions are snapshots already;
    // PostgreSQL needs repeatable read).
    return this.db.transaction().setIsolationLevel("repeatable read").execute(async (tx) => {
      const { rows } = await tx.executeQuery(bind(q.summary, { user: userId, conv: conversationId }));
      if (!rows[0]) return undefined;
      let found;
      if (page.before === undefined) {
        found = await tx.executeQuery(bind(q.newest, { conv: conversationId, limit }));
      } else {
        const at = (await tx.executeQuery(bind(q.messageAt, { id: page.before, conv: conversationId }))).rows[0];
        if (!at) throw new NotFoundError("message");
        found = await tx.executeQuery(bind(q.older, { conv: conversationId, beforeAt: at.created_at, beforeId: at.id, limit }));
      }
      const messages = found.rows.slice(0, page.limit).reverse().map(toMessage);
      return { ...toSummary(rows[0]), messages, has_more: found.rows.length > page.limit };
    });
  }

  async listConversations(userId: string, options: ListOptions) {
    const { rows } = await this.db.executeQuery(pageQuery(this.db, userId, options, this.#pageTemplates));
    const page = rows.slice(0, options.limit);
    const last = page.at(-1);
    return {
      conversations: page.map(toSummary),
      nextCursor: rows.length > options.limit && last ? encodeCursor(last.updated_at, last.id) : null,
    };
  }

  async renameConversation(userId: string, conversationId: string, title: string, ifTitle?: string): Promise<boolean> {
    const values = { title, at: now(), conv: conversationId, user: userId, expected: ifTitle };
    const r = await this.db.executeQuery(bind(ifTitle === undefined ? this.#q.rename : this.#q.renameIf, values));
    return (r.numAffectedRows ?? 0n) > 0n;
  }

  async deleteConversation(userId: string, conversationId: string): Promise<boolean> {
    const r = await this.db
      .deleteFrom("conversations")
      .where("id", "=", conversationId)
      .where("user_id", "=", userId)
      .executeTakeFirst();
    return r.numDeletedRows > 0n;
  }

  clearConversations(userId: string, teachingMode: TeachingMode, freshTitle: string) {
    return this.db.transaction().execute(async (tx) => {
      const r = await tx
        .deleteFrom("conversations")
        .where("user_id", "=", userId)
        .where("teaching_mode", "=", teachingMode)
        .executeTakeFirst();
      const conversation = await insertConversation(tx, userId, teachingMode, freshTitle);
      return { deletedCount: Number(r.numDeletedRows), conversation };
    });
  }

  // ---------------------------------------------------------------- messages

  addMessage(userId: string, conversationId: string, message: NewMessage): Promise<Message | undefined> {
    const q = this.#q;
    return this.db.transaction().execute(async (tx) => {
      // The time and id are taken only once the conversation is ours alone, so
      // that appends are ordered alike by (created_at, id) and by who set
      // last_message_id last. On PostgreSQL that takes a row lock (without it
      // a burst of concurrent appends left the wrong last message nearly every
      // time); SQLite needs none, as a process's transactions run one at a
      // time on its single connection.
      if (this.dialect === "postgres") {
        const mine = await tx.executeQuery(bind(q.lock, { conv: conversationId, user: userId }));
        if (mine.rows.length === 0) return undefined;
      }
      const at = now();
      const row = {
        id: message.id ?? newId(Date.parse(at)),
        conversation_id: conversationId,
        type: message.type,
        content: message.content,
        model: message.model ?? null,
        created_at: at,
      };
      // One statement checks ownership, bumps updated_at and keeps the derived
      // columns; the increment is evaluated on the current row, so concurrent
      // appends never lose a count. Should the insert fail, the transaction
      // takes the counters back with it.
      const owned = await tx.executeQuery(bind(q.bump, { at, id: row.id, conv: conversationId, user: userId }));
      if (!owned.numAffectedRows) return undefined;
      await tx.executeQuery(bind(q.insertMessage, { id: row.id, conv: conversationId, type: row.type, content: row.content, model: row.model, at }));
      return toMessage(row);
    });
  }

  async getMessage(userId: string, conversationId: string, messageId: string): Promise<Message | undefined> {
    const { rows } = await this.db.executeQuery(bind(this.#q.message, { user: userId, conv: conversationId, id: messageId }));
    return rows[0] && toMessage(rows[0]);
  }

  updateCourse(userId: string, conversationId: string, update: (state: CourseState | null) => CourseState | null): Promise<boolean> {
    // Read, change and write in one transaction, the row locked on PostgreSQL,
    // so an answer and a submission landing together do not lose each other's change.
    return this.db.transaction().execute(async (tx) => {
      const row = await tx
        .selectFrom("conversations")
        .select("course")
        .where("id", "=", conversationId)
        .where("user_id", "=", userId)
        .$if(this.dialect === "postgres", (q) => q.forUpdate())
        .executeTakeFirst();
      if (!row) return false;
      const before = readCourseState(row.course);
      const after = update(before);
      if (after === before) return false;
      await tx
        .updateTable("conversations")
        .set({ course: after ? JSON.stringify(after) : null })
        .where("id", "=", conversationId)
        .where("user_id", "=", userId)
        .execute();
      return true;
    });
  }

  async recentMessages(userId: string, conversationId: string, limit: number): Promise<Message[]> {
    const { rows } = await this.db.executeQuery(bind(this.#q.recent, { user: userId, conv: conversationId, limit }));
    return rows.reverse().map(toMessage);
  }

  // ---------------------------------------------------------------- search, export / import, account (account.ts)

  readonly #account: ReturnType<typeof accountMethods>;
  searchMessages: Store["searchMessages"] = (userId, options) => this.#account.searchMessages(userId, options);
  exportConversations: Store["exportConversations"] = (userId, conversationId) => this.#account.exportConversations(userId, conversationId);
  importConversations: Store["importConversations"] = (userId, conversations) => this.#account.importConversations(userId, conversations);
  setPasswordHash: Store["setPasswordHash"] = (userId, hash) => this.#account.setPasswordHash(userId, hash);
  revokeUserTokens: Store["revokeUserTokens"] = (userId, at, exceptJti) => this.#account.revokeUserTokens(userId, at, exceptJti);
  deleteUser: Store["deleteUser"] = (userId) => this.#account.deleteUser(userId);

  async ping(): Promise<void> {
    await sql`select 1`.execute(this.db);
  }

  async close(): Promise<void> {
    // The worker's checkpoints end first, so the last one (which empties the WAL) does not wait for them.
    await this.checkpointer?.stop();
    if (this.dialect === "sqlite") await sql`pragma wal_checkpoint(TRUNCATE)`.execute(this.db);
    await this.db.destroy();
  }
}
