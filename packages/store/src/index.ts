import type { Logger, Store } from "@tutor/core";
import { openDatabase } from "./db.js";
import { KyselyStore } from "./store.js";

export type { Database, UsersTable, TokensTable, ConversationsTable, MessagesTable, LoginFailuresTable, LimitCountersTable } from "./db.js";

/**
 * Opens the store and applies pending migrations: PostgreSQL when
 * `databaseUrl` is a postgres:// URL, else SQLite at `${dataDir}/tutor.db`.
 */
export async function createStore(options: { databaseUrl?: string | undefined; dataDir: string; logger?: Logger | undefined }): Promise<Store> {
  const { db, dialect, checkpointer, sqlite } = await openDatabase(options);
  return new KyselyStore(db, dialect, checkpointer, sqlite);
}

export { StoreLimiter, createStoreLimiter } from "./limiter.js";
export { PgEventHub, isHubEvent, HUB_CHANNEL, NOTIFY_MAX_BYTES, hubEventKind, type HubObserver, type HubDropReason, type PgHubOptions } from "./pg-hub.js";
