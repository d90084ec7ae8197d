// Entry point: read configuration, wire the app, listen, shut down gracefully.
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { buildApp, type BuiltApp } from "./app.js";
import { ConfigError, DEFAULTS, loadConfig, type Config } from "./config.js";
import { closeContext, createContext, type AppContext } from "./context.js";
import { createLogger } from "./logger.js";

export interface RunningServer {
  url: string;
  ctx: AppContext;
  built: BuiltApp;
  /** Graceful: stop accepting, let running turns finish (bounded), close storage. */
  shutdown(reason?: string): Promise<void>;
}

export async function startServer(config: Config, logger = createLogger(config.logLevel)): Promise<RunningServer> {
  const ctx = await createContext(config, logger);
  const built = await buildApp(ctx, logger);
  await built.app.listen({ host: config.host, port: config.port });
  const address = built.app.server.address();
  const port = typeof address === "object" && address ? address.port : config.port;
  const url = `http://${config.host.includes(":") ? `[${config.host}]` : config.host}:${port}`;

  logger.info(
    {
      event: "started",
      url,
      storage: ctx.store.dialect,
      hub: ctx.hubHandle.kind,
      llm: config.llm.configured ? { provider: config.llm.provider, models: config.llm.models.map((m) => m.name), fast: config.llm.fastModel } : "none",
      livekit: Boolean(config.livekit),
    },
    `CS Tutor listening on ${url}`,
  );
  if (!config.llm.configured) {
    logger.warn(
      { event: "no_model" },
      "no language model configured: the app runs, and answers tell students to ask an administrator. Set GROQ_API_KEY, or LLM_BASE_URL and LLM_MODELS.",
    );
  }

  // Housekeeping: expired tokens and old login failures, at start and then on a timer.
  let pruning: Promise<unknown> = Promise.resolve();
  const prune = () => {
    pruning = ctx.auth.prune().catch((err: unknown) => logger.warn({ err, event: "prune_failed" }, "could not prune expired tokens"));
  };
  prune();
  const pruneTimer = setInterval(prune, config.auth.pruneIntervalMs);
  pruneTimer.unref();

  let closing: Promise<void> | undefined;
  const shutdown = (reason = "shutdown") =>
    (closing ??= (async () => {
      logger.info({ event: "shutdown", reason }, "shutting down: waiting for running answers");
      clearInterval(pruneTimer);
      const grace = new Promise((r) => setTimeout(r, DEFAULTS.shutdownGraceMs).unref());
      await Promise.race([ctx.turns.drain(), grace]);
      // Past the grace period: stop what still runs (WebSocket, SSE, voice); each turn stores what was said.
      await ctx.turns.stopAll();
      // Every session's close (voice input, its turn) is awaited before storage closes.
      await Promise.all([...built.sessions].map((s) => s.close()));
      await built.app.close();
      await Promise.race([ctx.turns.idle(), new Promise((r) => setTimeout(r, 2_000).unref())]);
      await pruning;
      await closeContext(ctx);
      logger.info({ event: "stopped" }, "stopped");
    })());
  return { url, ctx, built, shutdown };
}

/** The process: `adjust` lets a test entry set what is not an environment variable (test-main.ts). */
export async function main(adjust: (config: Config) => Config = (c) => c): Promise<void> {
  let config: Config;
  try {
    config = adjust(loadConfig());
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`cs-tutor: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel);
  let server: RunningServer;
  try {
    server = await startServer(config, logger);
  } catch (err) {
    logger.fatal({ err }, "could not start");
    process.exit(1);
  }
  // `on`, not `once`: a second signal (Ctrl+C reaches npm and us both) must not kill a graceful shutdown.
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.on(signal, () => {
      // The shutdown's own timers are unreferenced (an embedding test must not wait on them):
      // this one keeps the process alive until every step has run, so it never ends early with code 0.
      const hold = setInterval(() => {}, 60_000);
      server.shutdown(signal).finally(() => clearInterval(hold)).then(
        () => process.exit(0),
        (err: unknown) => {
          logger.error({ err }, "shutdown failed");
          process.exit(1);
        },
      );
    });
  }
}

const invoked = process.argv[1] ? realpathSync(process.argv[1]) : "";
if (invoked === fileURLToPath(import.meta.url)) void main();
