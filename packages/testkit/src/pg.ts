// A throwaway PostgreSQL for tests: a private cluster in a temp dir on a free
// loopback port, or a fresh database on the server TEST_DATABASE_URL names.
import { execFile, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { chown, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { freePort } from "./net.js";

const execFileP = promisify(execFile);

export interface PgHandle {
  /** postgres:// URL of a database nobody else uses. */
  url: string;
  /**
   * `pg_ctl restart -m fast` of the private cluster (every connection is cut,
   * as in a real restart); absent on a shared TEST_DATABASE_URL server.
   */
  restart?: () => Promise<void>;
  stop(): Promise<void>;
}

/** Directory holding initdb/pg_ctl: the newest /usr/lib/postgresql/<v>/bin, else PATH. */
function pgBinDir(): string | undefined {
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  const candidates = [...versions.map((v) => join(root, v, "bin")), ...(process.env.PATH ?? "").split(delimiter)];
  return candidates.find((d) => d && existsSync(join(d, "initdb")) && existsSync(join(d, "pg_ctl")));
}

const asRoot = () => process.getuid?.() === 0;

/** The `postgres` OS account that runs the cluster when we are root (PostgreSQL refuses to run as root). */
function postgresAccount(): { uid: number; gid: number } | undefined {
  const line = readFileSync("/etc/passwd", "utf8")
    .split("\n")
    .find((l) => l.startsWith("postgres:"));
  const [, , uid, gid] = line?.split(":") ?? [];
  return uid && gid ? { uid: Number(uid), gid: Number(gid) } : undefined;
}

export function pgAvailable(): boolean {
  if (process.env.TEST_DATABASE_URL) return true;
  return pgBinDir() !== undefined && (!asRoot() || postgresAccount() !== undefined);
}

export async function startPostgres(): Promise<PgHandle> {
  const external = process.env.TEST_DATABASE_URL;
  if (external) return freshDatabase(external);

  const bin = pgBinDir();
  const account = asRoot() ? postgresAccount() : undefined;
  if (!bin || (asRoot() && !account)) {
    throw new Error(
      "PostgreSQL is not available: install it (initdb and pg_ctl under /usr/lib/postgresql/*/bin or on PATH" +
        (asRoot() ? ", plus a `postgres` OS user" : "") +
        ") or set TEST_DATABASE_URL",
    );
  }
  const dir = await mkdtemp(join(tmpdir(), "tutor-pg-"));
  if (account) await chown(dir, account.uid, account.gid);
  const data = join(dir, "data");
  const cmd = (tool: string, args: string[]): [string, string[]] =>
    account ? ["runuser", ["-u", "postgres", "--", join(bin, tool), ...args]] : [join(bin, tool), args];
  const run = (tool: string, args: string[]) => execFileP(...cmd(tool, args), { cwd: dir });
  const stopSync = () => spawnSync(...cmd("pg_ctl", ["-D", data, "stop", "-m", "immediate"]), { cwd: dir });
  // A test process that dies without calling stop() must not leave a server behind.
  const onExit = () => stopSync();

  try {
    await run("initdb", ["-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"]);
    let port = 0;
    let server = "";
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      server = `-p ${port} -c listen_addresses=127.0.0.1 -k ${dir} -c fsync=off -c full_page_writes=off`;
      try {
        await run("pg_ctl", ["-D", data, "-l", join(dir, "server.log"), "-w", "-t", "60", "-o", server, "start"]);
        break;
      } catch (err) {
        // Another process may have taken the port between our probe and the bind.
        if (attempt >= 3) throw new Error(`pg_ctl start failed: ${logTail(dir)}`, { cause: err });
      }
    }
    process.once("exit", onExit);
    const admin = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/postgres` });
    await admin.connect();
    try {
      await admin.query("create database tutor");
    } finally {
      await admin.end();
    }
    return {
      url: `postgres://postgres@127.0.0.1:${port}/tutor`,
      async restart() {
        await run("pg_ctl", ["-D", data, "-l", join(dir, "server.log"), "-w", "-t", "60", "-m", "fast", "-o", server, "restart"]);
      },
      async stop() {
        process.off("exit", onExit);
        await run("pg_ctl", ["-D", data, "stop", "-m", "immediate"]).catch(() => undefined);
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    stopSync();
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

function logTail(dir: string): string {
  try {
    return readFileSync(join(dir, "server.log"), "utf8").trim().split("\n").slice(-5).join("\n");
  } catch {
    return "(no server log)";
  }
}

/**
 * On a shared server, each run gets its own database (or, without the right
 * to create one, its own schema) so concurrent runs never see each other's rows.
 */
async function freshDatabase(baseUrl: string): Promise<PgHandle> {
  const name = `tutor_test_${process.pid}_${Date.now().toString(36)}`;
  const admin = async <T>(fn: (c: pg.Client) => Promise<T>): Promise<T> => {
    const c = new pg.Client({ connectionString: baseUrl });
    await c.connect();
    try {
      return await fn(c);
    } finally {
      await c.end();
    }
  };
  const url = new URL(baseUrl);
  try {
    await admin((c) => c.query(`create database ${name}`));
    url.pathname = `/${name}`;
    return {
      url: url.toString(),
      stop: () => admin((c) => c.query(`drop database if exists ${name} with (force)`)).then(() => undefined),
    };
  } catch (err) {
    if ((err as { code?: string }).code !== "42501") throw err; // insufficient_privilege
    await admin((c) => c.query(`create schema ${name}`));
    url.searchParams.set("options", `-c search_path=${name}`);
    return {
      url: url.toString(),
      stop: () => admin((c) => c.query(`drop schema if exists ${name} cascade`)).then(() => undefined),
    };
  }
}

