// What the store benchmarks share (not a bench file itself): one account's
// many conversations inserted in large statements, and one measurement run on
// SQLite and, when the machine has it, on PostgreSQL.
import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Kysely } from "kysely";
import { pgAvailable, startPostgres } from "@tutor/testkit";
import type { Database, OpenOptions } from "../src/db.js";

export interface SeedRows {
  conversations: number;
  messagesPer: number;
  conversation(c: number): { title: string; teaching_mode: "qa" | "teacher"; created_at: string; updated_at: string };
  /** Called in order, conversation by conversation (seeded generators draw the same data every run). */
  message(c: number, m: number): { type: "user" | "ai"; content: string; model: string | null; created_at: string };
}

/**
 * Inserts the account's conversations and messages in one transaction, 50
 * conversations and 1,000 messages a statement, with the derived columns
 * addMessage would have left (message_count, last_message_id).
 */
export async function seedAccount(db: Kysely<Database>, userId: string, rows: SeedRows): Promise<void> {
  await db.transaction().execute(async (tx) => {
    for (let c0 = 0; c0 < rows.conversations; c0 += 50) {
      const convs = [];
      const msgs = [];
      for (let c = c0; c < c0 + 50; c++) {
        const id = randomUUID();
        const ids = Array.from({ length: rows.messagesPer }, () => randomUUID());
        convs.push({ id, user_id: userId, ...rows.conversation(c), message_count: rows.messagesPer, last_message_id: ids.at(-1)! });
        for (let m = 0; m < rows.messagesPer; m++) msgs.push({ id: ids[m]!, conversation_id: id, ...rows.message(c, m) });
      }
      await tx.insertInto("conversations").values(convs).execute();
      for (let i = 0; i < msgs.length; i += 1_000) await tx.insertInto("messages").values(msgs.slice(i, i + 1_000)).execute();
    }
  });
}

/**
 * `measure` on a SQLite file, then on a throwaway PostgreSQL when the machine
 * has one (else a note says its rows are missing), in a temporary data
 * directory removed afterwards.
 */
export async function onEachStore<R>(measure: (label: string, options: OpenOptions) => Promise<R>): Promise<{ results: R[]; notes: string[] }> {
  const dir = await mkdtemp(join(tmpdir(), "tutor-bench-store-"));
  const results: R[] = [];
  const notes: string[] = [];
  try {
    results.push(await measure("SQLite (file, WAL)", { dataDir: dir }));
    if (pgAvailable()) {
      const pg = await startPostgres();
      try {
        results.push(await measure("PostgreSQL (loopback)", { databaseUrl: pg.url, dataDir: dir }));
      } finally {
        await pg.stop();
      }
    } else {
      notes.push("PostgreSQL not available on this machine: its rows were not measured");
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return { results, notes };
}
