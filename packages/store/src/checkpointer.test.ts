// SQLite's WAL is checkpointed by the store's worker thread, so the file stays
// small without the app's connection checkpointing inside its commits.
import { copyFileSync, existsSync, statSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import SqliteDatabase from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Store } from "@tutor/core";
import { SAFETY_PAGES } from "./checkpointer.js";
import { createStore } from "./index.js";

describe("WAL checkpoints on a worker thread (SQLite)", () => {
  let dir: string;
  let store: Store;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "tutor-ckpt-"));
    store = await createStore({ dataDir: dir });
  });
  afterAll(async () => {
    await store?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("keeps the WAL at about one burst of writes: checkpointed in the pauses, then reused from its start", async () => {
    const wal = () => statSync(join(dir, "tutor.db-wal")).size;
    let n = 0;
    const burst = async () => {
      for (let i = 0; i < 150; i++) await store.createUser({ username: `ckpt${++n}`, email: `ckpt${n}@example.org`, passwordHash: "h" });
    };
    await burst();
    const one = wal();
    // Well below any automatic checkpoint of the app's connection (SQLite's default 1,000 pages too).
    expect(one).toBeLessThan(1000 * 4096);
    expect(one).toBeLessThan(SAFETY_PAGES * 4096);
    await new Promise((r) => setTimeout(r, 600));
    // The database file itself (a copy without its WAL) already holds every row: the worker checkpointed it.
    copyFileSync(join(dir, "tutor.db"), join(dir, "copy.db"));
    const copy = new SqliteDatabase(join(dir, "copy.db"));
    expect(copy.prepare("select count(*) as n from users").get()).toEqual({ n });
    copy.close();
    for (let round = 0; round < 5; round++) {
      await new Promise((r) => setTimeout(r, 600));
      await burst();
    }
    // Six bursts without a checkpoint would have made the WAL about six times one burst.
    expect(wal()).toBeLessThan(one * 2.5);
    expect(await store.findUserByUsername(`ckpt${n}`)).toBeDefined();
  });

  it("closes: the worker stops and the last checkpoint empties the WAL", async () => {
    const other = await createStore({ dataDir: join(dir, "other") });
    await other.createUser({ username: "closing", email: null, passwordHash: "h" });
    await other.close();
    const walFile = join(dir, "other", "tutor.db-wal");
    expect(existsSync(walFile) ? statSync(walFile).size : 0).toBe(0);
    const again = await createStore({ dataDir: join(dir, "other") });
    expect(await again.findUserByUsername("closing")).toBeDefined();
    await again.close();
  });
});
