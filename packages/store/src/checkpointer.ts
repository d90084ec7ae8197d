// SQLite WAL checkpoints on a worker thread, off the event loop.
//
// better-sqlite3 is synchronous: by default the connection that commits the
// write crossing 1,000 WAL pages runs the checkpoint inside that commit —
// copying the pages into the database file and fsyncing both files — on the
// event loop, stalling every session for that long (in the turns benchmark
// about three times a second at 200 turns/s, several ms each and tens of ms
// when the disk is busy: the tail of time to first token). Here a worker
// thread with a connection of its own runs PASSIVE checkpoints (they never
// wait for, or block, the app's readers and writers) every `intervalMs`,
// with the same `synchronous = NORMAL`, so durability is unchanged: a
// checkpoint still syncs the WAL before it overwrites the database file.
//
// The app's connection keeps an automatic checkpoint as a safety valve, at
// `SAFETY_PAGES` instead of 1,000: SQLite restarts the WAL from its start
// only once a checkpoint has caught up completely, which a concurrent
// checkpointer can miss under a steady stream of writes; then the app's
// connection checkpoints itself (as before, only rarely) and the WAL stays
// bounded.
import { createRequire } from "node:module";
import { Worker, type parentPort as ParentPort } from "node:worker_threads";
import type SqliteDatabase from "better-sqlite3";

/** WAL pages after which the app's own connection checkpoints (64 MiB of 4 KiB pages). */
export const SAFETY_PAGES = 16_384;
export const CHECKPOINT_INTERVAL_MS = 200;

/** Runs inside the worker (stringified: the server is one bundle, so no worker file of its own). */
function workerMain(req: NodeJS.Require): void {
  const { parentPort, workerData } = req("node:worker_threads") as { parentPort: typeof ParentPort; workerData: unknown };
  const { driver, file, intervalMs } = workerData as { driver: string; file: string; intervalMs: number };
  const Database = req(driver) as typeof SqliteDatabase;
  const db = new Database(file);
  db.pragma("synchronous = NORMAL");
  const timer = setInterval(() => {
    try {
      db.pragma("wal_checkpoint(PASSIVE)");
    } catch (err) {
      // SQLITE_BUSY (a checkpoint of the app's connection is running) and the like: the next tick tries again.
      parentPort!.postMessage({ error: String(err) });
    }
  }, intervalMs);
  parentPort!.on("message", (m: unknown) => {
    if (m !== "stop") return;
    clearInterval(timer);
    db.close();
    parentPort!.close();
  });
}

export interface Checkpointer {
  /** Stops checkpointing and closes the worker's connection; resolves when the thread has exited. */
  stop(): Promise<void>;
}

export function startCheckpointer(file: string, onError: (message: string) => void, intervalMs = CHECKPOINT_INTERVAL_MS): Checkpointer {
  const driver = createRequire(import.meta.url).resolve("better-sqlite3");
  // `__name`: what esbuild may wrap named functions in; the stringified function runs outside the bundle.
  const worker = new Worker(`var __name = (f) => f;\n(${workerMain.toString()})(require)`, { eval: true, workerData: { driver, file, intervalMs } });
  // A store nobody closed must not keep the process alive.
  worker.unref();
  let lastError = "";
  worker.on("message", (m: { error?: string }) => {
    if (m.error && m.error !== lastError) onError((lastError = m.error));
  });
  worker.on("error", (err) => onError(String(err)));
  const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
  let stopping: Promise<void> | undefined;
  return {
    stop() {
      // Referenced again while it stops: an unreferenced worker would let the event loop
      // drain and the process exit (code 0) in the middle of a graceful shutdown, before
      // the last checkpoint and the "stopped" line.
      stopping ??= (worker.ref(), worker.postMessage("stop"), exited);
      return stopping;
    },
  };
}
