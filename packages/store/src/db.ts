// Table types, connection setup and migrations. The same migrations run on
// SQLite and PostgreSQL; they branch on the dialect only for column types.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import SqliteDatabase from "better-sqlite3";
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql, type Generated, type Migration, type SqliteDialectConfig } from "kysely";
import pg from "pg";
import { silentLogger, type Logger } from "@tutor/core";
import type { MessageType, TeachingMode } from "@tutor/protocol";
import { SAFETY_PAGES, startCheckpointer, type Checkpointer } from "./checkpointer.js";

/** Timestamps are ISO-8601 UTC strings with milliseconds on both dialects (text in SQLite, timestamptz in PostgreSQL). */
export interface UsersTable {
  id: string;
  username: string;
  email: string | null;
  password_hash: string;
  created_at: string;
  last_login: string | null;
}

export interface TokensTable {
  jti: string;
  user_id: string;
  expires_at: string;
  revoked_at: string | null;
}

export interface ConversationsTable {
  id: string;
  user_id: string;
  title: string;
  teaching_mode: TeachingMode;
  created_at: string;
  updated_at: string;
  /**
   * Derived (migration 002), kept by addMessage in the statement that bumps
   * updated_at, so a listing page reads them instead of counting messages.
   * Exact because messages are only ever appended, or deleted with their conversation.
   */
  message_count: Generated<number>;
  last_message_id: string | null;
  /** Migration 003: the course of a teacher conversation, the core's CourseState as JSON (null: none yet). */
  course: string | null;
}

export interface MessagesTable {
  id: string;
  conversation_id: string;
  type: MessageType;
  content: string;
  model: string | null;
  created_at: string;
}

export interface LoginFailuresTable {
  key: string;
  at: string;
}

/** The Limiter's counters (migration 005): `key` = `${rule}:${subject}`, times in epoch ms. */
export interface LimitCountersTable {
  key: string;
  points: number;
  expires_at: number;
}

export interface Database {
  limit_counters: LimitCountersTable;
  users: UsersTable;
  tokens: TokensTable;
  conversations: ConversationsTable;
  messages: MessagesTable;
  login_failures: LoginFailuresTable;
}

export type DialectName = "sqlite" | "postgres";

/** Unique index names; the adapter maps a violation of one to ConflictError. */
export const UNIQUE_INDEX = { username: "users_username_uq", email: "users_email_uq" } as const;

/** Every migration by name, in order; exported so tests can stop at an older version. */
export function migrations(dialect: DialectName): Record<string, Migration> {
  const ts = dialect === "postgres" ? "timestamptz" : "text";
  return {
    "001_initial": {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable("users")
          .addColumn("id", "text", (c) => c.primaryKey())
          .addColumn("username", "text", (c) => c.notNull())
          .addColumn("email", "text")
          .addColumn("password_hash", "text", (c) => c.notNull())
          .addColumn("created_at", ts, (c) => c.notNull())
          .addColumn("last_login", ts)
          .execute();
        // Uniqueness is case-insensitive; lookups use the same expression so they hit the index.
        await db.schema.createIndex(UNIQUE_INDEX.username).on("users").unique().expression(sql`lower(username)`).execute();
        await db.schema.createIndex(UNIQUE_INDEX.email).on("users").unique().expression(sql`lower(email)`).execute();

        await db.schema
          .createTable("tokens")
          .addColumn("jti", "text", (c) => c.primaryKey())
          .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
          .addColumn("expires_at", ts, (c) => c.notNull())
          .addColumn("revoked_at", ts)
          .execute();
        await db.schema.createIndex("tokens_user").on("tokens").column("user_id").execute();

        await db.schema
          .createTable("conversations")
          .addColumn("id", "text", (c) => c.primaryKey())
          .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
          .addColumn("title", "text", (c) => c.notNull())
          .addColumn("teaching_mode", "text", (c) => c.notNull())
          .addColumn("created_at", ts, (c) => c.notNull())
          .addColumn("updated_at", ts, (c) => c.notNull())
          .execute();
        // `id` is the keyset tie-breaker, so it is in the index too: a page is a
        // plain index range scan with no sort. The second index serves the
        // listing without a mode filter.
        await db.schema
          .createIndex("conversations_user_mode_updated")
          .on("conversations")
          .columns(["user_id", "teaching_mode", "updated_at", "id"])
          .execute();
        await db.schema
          .createIndex("conversations_user_updated")
          .on("conversations")
          .columns(["user_id", "updated_at", "id"])
          .execute();

        await db.schema
          .createTable("messages")
          .addColumn("id", "text", (c) => c.primaryKey())
          .addColumn("conversation_id", "text", (c) => c.notNull().references("conversations.id").onDelete("cascade"))
          .addColumn("type", "text", (c) => c.notNull())
          .addColumn("content", "text", (c) => c.notNull())
          .addColumn("model", "text")
          .addColumn("created_at", ts, (c) => c.notNull())
          .execute();
        // Covers the message count and the newest-message lookup of a listing page.
        await db.schema
          .createIndex("messages_conversation_created")
          .on("messages")
          .columns(["conversation_id", "created_at", "id"])
          .execute();

        await db.schema
          .createTable("login_failures")
          .addColumn("key", "text", (c) => c.notNull())
          .addColumn("at", ts, (c) => c.notNull())
          .execute();
        await db.schema.createIndex("login_failures_key_at").on("login_failures").columns(["key", "at"]).execute();
      },
    },
    "002_conversation_counters": {
      // ARCHITECTURE's data model plus two derived columns: with them a listing
      // page costs one primary-key lookup per row instead of counting every
      // message of every conversation on the page.
      async up(db: Kysely<unknown>) {
        await atomically(db, dialect, async (tx) => {
          await tx.schema
            .alterTable("conversations")
            .addColumn("message_count", "integer", (c) => c.notNull().defaultTo(0))
            .execute();
          // No foreign key: it would make the two tables reference each other,
          // and every cascaded message delete would have to look for
          // conversations pointing at it (another index to keep).
          await tx.schema.alterTable("conversations").addColumn("last_message_id", "text").execute();
          // Raw SQL on purpose: a migration must keep meaning what it meant
          // when written, whatever the table types say later.
          await sql`
            update conversations set
              message_count = (select count(*) from messages m where m.conversation_id = conversations.id),
              last_message_id = (
                select m.id from messages m where m.conversation_id = conversations.id
                order by m.created_at desc, m.id desc limit 1
              )
            where exists (select 1 from messages m where m.conversation_id = conversations.id)
          `.execute(tx);
        });
      },
    },
    "003_course": {
      // The course progress read from a teacher conversation's answers and
      // submissions (packages/core/src/course), kept with the conversation so
      // a summary shows it without reading any message.
      async up(db: Kysely<unknown>) {
        await db.schema.alterTable("conversations").addColumn("course", "text").execute();
      },
    },
    "004_search": {
      // Full-text search over messages (questions and answers). SQLite: an
      // FTS5 external-content table over messages.rowid, kept by triggers (so
      // every insert, delete and cascade — conversation, clear, account —
      // keeps it in the message's own transaction). PostgreSQL: a generated
      // tsvector column with a GIN index, plus created_at for newest-first
      // scans of common words. Both tokenize the same way: words of any
      // script, lower-cased, no stemming (code identifiers stay whole).
      async up(db: Kysely<unknown>) {
        await atomically(db, dialect, async (tx) => {
          if (dialect === "postgres") {
            await sql`alter table messages add column search tsvector generated always as (to_tsvector('simple', content)) stored`.execute(tx);
            await sql`create index messages_search on messages using gin (search)`.execute(tx);
            await sql`create index messages_created on messages (created_at, id)`.execute(tx);
            return;
          }
          await sql`create virtual table messages_fts using fts5(
            content, content='messages', content_rowid='rowid',
            tokenize="unicode61 remove_diacritics 0", prefix='2 3'
          )`.execute(tx);
          await sql`create trigger messages_fts_insert after insert on messages begin
            insert into messages_fts(rowid, content) values (new.rowid, new.content);
          end`.execute(tx);
          await sql`create trigger messages_fts_delete after delete on messages begin
            insert into messages_fts(messages_fts, rowid, content) values ('delete', old.rowid, old.content);
          end`.execute(tx);
          await sql`create trigger messages_fts_update after update of content on messages begin
            insert into messages_fts(messages_fts, rowid, content) values ('delete', old.rowid, old.content);
            insert into messages_fts(rowid, content) values (new.rowid, new.content);
          end`.execute(tx);
          await sql`insert into messages_fts(messages_fts) values ('rebuild')`.execute(tx);
        });
      },
    },
    "005_limit_counters": {
      // The store-backed Limiter (limiter.ts): one row per counter, so every
      // instance sharing the database sees the same budgets and throttles.
      async up(db: Kysely<unknown>) {
        const int = dialect === "postgres" ? "bigint" : "integer";
        await db.schema
          .createTable("limit_counters")
          .addColumn("key", "text", (c) => c.primaryKey())
          .addColumn("points", int, (c) => c.notNull())
          .addColumn("expires_at", int, (c) => c.notNull())
          .execute();
        await db.schema.createIndex("limit_counters_expires").on("limit_counters").column("expires_at").execute();
      },
    },
    "006_message_owner": {
      // PostgreSQL: each message carries its conversation's owner, set by a
      // trigger (no insert names it; conversations never change owner), so a
      // search answered by the GIN index keeps only the student's matches
      // without reading a conversation per match (pg-search.ts). SQLite's
      // search walks FTS5 newest first and needs nothing.
      async up(db: Kysely<unknown>) {
        if (dialect !== "postgres") return;
        await sql`alter table messages add column user_id text`.execute(db);
        await sql`update messages m set user_id = c.user_id from conversations c where c.id = m.conversation_id`.execute(db);
        await sql`create function messages_owner() returns trigger language plpgsql as $$
          begin
            new.user_id := (select c.user_id from conversations c where c.id = new.conversation_id);
            return new;
          end
        $$`.execute(db);
        await sql`create trigger messages_owner before insert or update of conversation_id on messages
          for each row execute function messages_owner()`.execute(db);
      },
    },
  };
}

/**
 * Runs a migration's steps as one transaction. Kysely's migrator already wraps
 * PostgreSQL migrations in one; on SQLite it does not, and a backfill that
 * fails halfway must not leave added columns behind (the retry would fail).
 */
async function atomically(db: Kysely<unknown>, dialect: DialectName, steps: (tx: Kysely<unknown>) => Promise<void>): Promise<void> {
  if (dialect === "postgres") return steps(db);
  await db.transaction().execute(steps);
}

export interface OpenOptions {
  databaseUrl?: string | undefined;
  dataDir: string;
  logger?: Logger | undefined;
}

/** Opens the database named by the options and brings its schema up to date. */
export async function openDatabase(options: OpenOptions): Promise<Connected> {
  const logger = (options.logger ?? silentLogger).child({ component: "store" });
  const connected = connect(options);
  const { db, dialect } = connected;
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations(dialect) },
  });
  const { error, results } = await migrator.migrateToLatest();
  for (const r of results ?? []) {
    if (r.status === "Success") logger.info({ migration: r.migrationName, dialect }, "applied migration");
    else if (r.status === "Error") logger.error({ migration: r.migrationName, dialect }, "migration failed");
  }
  if (error) {
    await connected.checkpointer?.stop();
    await db.destroy();
    throw new Error(`database migration failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  return connected;
}

export interface Connected {
  db: Kysely<Database>;
  dialect: DialectName;
  /** SQLite: the WAL checkpoints' worker thread (checkpointer.ts); stop it before the last checkpoint at close. */
  checkpointer?: Checkpointer | undefined;
  /**
   * SQLite: the better-sqlite3 handle under Kysely. The limiter runs its
   * counters on it synchronously (limiter.ts) when no transaction is open.
   */
  sqlite?: SqliteDatabase.Database | undefined;
}

/** A connection with no migrations applied; `openDatabase` is what the app uses. */
export function connect(options: OpenOptions): Connected {
  const url = options.databaseUrl;
  if (url) {
    if (!/^postgres(ql)?:\/\//.test(url)) {
      throw new Error("DATABASE_URL must start with postgres:// or postgresql://");
    }
    const pool = new pg.Pool({ connectionString: url, types: { getTypeParser: typeParser } });
    // A connection cut by the server (a PostgreSQL restart) emits 'error' on its client; the pool listens
    // only while the client is idle, and an 'error' nobody listens to ends the process. The query running
    // on it fails on its own; the pool drops the client and the next query opens a new one.
    const log = options.logger ?? silentLogger;
    const lost = (err: Error) => log.warn({ event: "db_connection_lost", err: err.message }, "a database connection was closed by the server");
    pool.on("error", lost);
    pool.on("connect", (client) => client.on("error", lost));
    return { db: new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }), dialect: "postgres" };
  }
  mkdirSync(options.dataDir, { recursive: true });
  const path = join(options.dataDir, "tutor.db");
  const file = new SqliteDatabase(path);
  file.pragma("journal_mode = WAL");
  file.pragma("synchronous = NORMAL");
  file.pragma("foreign_keys = ON");
  file.pragma("busy_timeout = 5000");
  // Checkpoints run on a worker thread, not inside the commits of the event loop (checkpointer.ts).
  file.pragma(`wal_autocheckpoint = ${SAFETY_PAGES}`);
  const log = options.logger ?? silentLogger;
  const checkpointer = startCheckpointer(path, (message) => log.warn({ event: "wal_checkpoint_failed", err: message }, "a WAL checkpoint failed"));
  const database = withStatementCache(file, () => void checkpointer.stop());
  return { db: new Kysely<Database>({ dialect: new SqliteDialect({ database }) }), dialect: "sqlite", checkpointer, sqlite: file };
}

const STATEMENT_CACHE_SIZE = 256;

/**
 * Kysely prepares every query anew; preparing costs about as much as running
 * our small indexed queries. The app issues a few dozen distinct SQL strings,
 * so keep their prepared statements (least recently used out first). SQLite
 * re-prepares a cached statement by itself after a schema change.
 */
function withStatementCache(file: SqliteDatabase.Database, onClose: () => void): SqliteDialectConfig["database"] {
  const cache = new Map<string, SqliteDatabase.Statement>();
  return {
    close: () => (onClose(), file.close()),
    prepare(sqlText: string) {
      let stmt = cache.get(sqlText);
      if (stmt) {
        cache.delete(sqlText); // re-insert: most recently used last
      } else {
        stmt = file.prepare(sqlText);
        if (cache.size >= STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value!);
      }
      cache.set(sqlText, stmt);
      return stmt;
    },
  };
}

const TIMESTAMPTZ = 1184;
const INT8 = 20;
const parseTimestamptz = pg.types.getTypeParser(TIMESTAMPTZ) as (value: string) => Date;

// Per pool, not global: timestamptz comes back as the same ISO string SQLite
// stores, and count(*) (int8) as a number, so the table types hold on both dialects.
const typeParser = ((oid: number, format?: "text" | "binary") => {
  if (oid === TIMESTAMPTZ) return (value: string) => parseTimestamptz(value).toISOString();
  if (oid === INT8) return (value: string) => Number(value);
  return pg.types.getTypeParser(oid, format as "text");
}) as typeof pg.types.getTypeParser;
