// The agent worker: registers with the LiveKit server as `tutor` and takes
// the rooms the app server dispatches it to; each room runs in a job process
// (./job.ts). `npm run agent` runs this; `npm start` runs it next to the app
// server when LIVEKIT_* are set (`--if-configured`).
import { realpathSync } from "node:fs";
import { availableParallelism } from "node:os";
import { extname } from "node:path";
import { fileURLToPath } from "node:url";
import { AgentServer, InferenceRunner, ServerOptions, initializeLogger, type JobRequest } from "@livekit/agents";
import { ConfigError, LIVEKIT_AGENT_NAME, createLogger, loadConfig, readEnv, type Config } from "@tutor/server";
import { liveKitRoomCheck, openRoomsOnly } from "./dispatch.js";
import { PUSH_ENV, WorkerMetrics } from "./metrics.js";

export interface WorkerSettings {
  /** Rooms this worker serves at once (one job process each); LiveKit sends new rooms elsewhere, or nowhere, beyond it. */
  maxRooms: number;
  /** Job processes kept started and wired (store open, models ready) before rooms arrive. */
  idleProcesses: number;
  /** Port of the worker's health endpoint on 127.0.0.1 (0: any free port). */
  healthPort: number;
  /** Port of the worker's Prometheus /metrics (0: any free port; `off`: none). */
  metricsPort: number | "off";
  /** Address /metrics listens on (127.0.0.1; 0.0.0.0 for a scraper on another machine). */
  metricsHost: string;
}

export const WORKER_DEFAULTS: WorkerSettings = {
  maxRooms: 4 * availableParallelism(),
  // The library's production default. Processes are wired one at a time, so these are what a burst of students gets at once.
  idleProcesses: Math.min(availableParallelism(), 4),
  healthPort: 8081,
  metricsPort: 8082,
  metricsHost: "127.0.0.1",
};

/**
 * LiveKit's default agent target load: the server stops offering rooms to a
 * worker whose reported load reaches it. We report load on that scale, so
 * `maxRooms` rooms reads as exactly 0.7.
 */
const LIVEKIT_TARGET_LOAD = 0.7;

/** The job module next to this one: ./job.ts under tsx, ./job.js in the esbuild bundle. */
export const JOB_MODULE = fileURLToPath(new URL(`./job${extname(fileURLToPath(import.meta.url))}`, import.meta.url));

/** The method name under which @livekit/agents registers its local end-of-turn model. */
const LIVEKIT_EOT_RUNNER = "lk_eot_audio";

/**
 * @livekit/agents 1.9 starts a shared inference process for its end-of-turn
 * model whenever the native binding loads (~350 MB resident, a 138 MB model
 * loaded at start). Turn-taking here is the core's VAD segmenter, so that
 * process would never be asked anything: keep the runner from registering.
 */
function withoutLocalTurnDetector(): void {
  const runners = InferenceRunner.registeredRunners;
  delete runners[LIVEKIT_EOT_RUNNER];
  InferenceRunner.registeredRunners = new Proxy(runners, {
    set: (target, key, value) => (key === LIVEKIT_EOT_RUNNER ? true : Reflect.set(target, key, value)),
  });
}

export function createWorker(
  livekit: NonNullable<Config["livekit"]>,
  settings: WorkerSettings = WORKER_DEFAULTS,
  requestFunc?: (req: JobRequest) => Promise<void>,
): AgentServer {
  withoutLocalTurnDetector();
  return new AgentServer(
    new ServerOptions({
      agent: JOB_MODULE,
      ...(requestFunc ? { requestFunc } : {}),
      agentName: LIVEKIT_AGENT_NAME,
      wsURL: livekit.url,
      apiKey: livekit.apiKey,
      apiSecret: livekit.apiSecret,
      // Load is rooms served, not machine CPU (the library default): a room is light here (VAD and relaying;
      // the model runs elsewhere), and a CPU spike from a neighbour (app server, tests, a local model) must
      // not make LiveKit refuse to send the tutor into a student's room.
      loadFunc: async (worker) => Math.min(1, worker.activeJobs.length / settings.maxRooms) * LIVEKIT_TARGET_LOAD,
      loadThreshold: LIVEKIT_TARGET_LOAD,
      numIdleProcesses: settings.idleProcesses,
      host: "127.0.0.1",
      port: settings.healthPort,
      // Wiring a job process opens storage and may run migrations: slower than the default 10 s on a busy machine.
      initializeProcessTimeout: 60_000,
      // `production` only picks defaults (all set above) and would force a fixed health port; keep it off.
      production: false,
    }),
  );
}

/**
 * Command-line flags over the environment's AGENT_METRICS_PORT / AGENT_METRICS_HOST
 * (names of the agent alone: the app server's configuration has neither).
 */
export function parseArgs(argv: string[], env: Record<string, string | undefined> = {}): WorkerSettings & { ifConfigured: boolean } {
  const out: WorkerSettings & { ifConfigured: boolean } = { ...WORKER_DEFAULTS, ifConfigured: false };
  const port = (flag: string, v: string | undefined): number | "off" => {
    if (v === "off") return "off";
    const n = Number(v);
    if (v === undefined || v === "" || !Number.isInteger(n) || n < 0 || n > 65535) throw new ConfigError(`${flag} must be a port 0..65535 or off`);
    return n;
  };
  if (env.AGENT_METRICS_PORT !== undefined) out.metricsPort = port("AGENT_METRICS_PORT", env.AGENT_METRICS_PORT.trim());
  if (env.AGENT_METRICS_HOST?.trim()) out.metricsHost = env.AGENT_METRICS_HOST.trim();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.split("=", 2) as [string, string | undefined];
    const value = () => {
      const v = inline ?? argv[++i];
      const n = Number(v);
      if (v === undefined || !Number.isFinite(n) || n < 0) throw new ConfigError(`${flag} needs a number ≥ 0`);
      return n;
    };
    if (flag === "--if-configured") out.ifConfigured = true;
    else if (flag === "--max-rooms") out.maxRooms = Math.max(1, Math.floor(value()));
    else if (flag === "--idle-processes") out.idleProcesses = Math.floor(value());
    else if (flag === "--health-port") out.healthPort = Math.floor(value());
    else if (flag === "--metrics-port") out.metricsPort = port(flag, inline ?? argv[++i]);
    else throw new ConfigError(`unknown option ${arg} (known: --if-configured, --max-rooms N, --idle-processes N, --health-port N, --metrics-port N|off)`);
  }
  return out;
}

async function main(): Promise<void> {
  let config: Config;
  let args: ReturnType<typeof parseArgs>;
  try {
    const env = readEnv();
    args = parseArgs(process.argv.slice(2), env);
    config = loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`cs-tutor agent: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  if (!config.livekit) {
    if (args.ifConfigured) process.exit(0);
    process.stderr.write("cs-tutor agent: set LIVEKIT_URL, LIVEKIT_API_KEY and LIVEKIT_API_SECRET (e.g. ws://127.0.0.1:7880, devkey, secret for `server --dev`)\n");
    process.exit(1);
  }
  // rtc-node logs at debug level unless NODE_ENV is production; job processes inherit this.
  process.env.NODE_ENV ??= "production";
  const logger = createLogger(config.logLevel).child({ component: "agent" });
  // The framework logs through its own pino instance; job processes inherit these options.
  initializeLogger({ pretty: false, level: config.logLevel });

  let metrics: WorkerMetrics | undefined;
  // Dispatches for rooms the app server already closed are declined, not joined (./dispatch.ts).
  const takeOpenRooms = openRoomsOnly(liveKitRoomCheck(config.livekit), logger, () => metrics?.dispatchDeclined());
  const worker = createWorker(config.livekit, args, takeOpenRooms);
  if (args.metricsPort !== "off") {
    metrics = new WorkerMetrics(() => worker.activeJobs.length);
    try {
      const port = await metrics.listen(args.metricsHost, args.metricsPort);
      // Job processes are forked by worker.run(), after this, and inherit it: that is where they push their figures.
      process.env[PUSH_ENV] = metrics.pushUrl(args.metricsHost, port);
      logger.info({ event: "agent_metrics", url: `http://${args.metricsHost}:${port}/metrics` }, `agent metrics on http://${args.metricsHost}:${port}/metrics`);
    } catch (err) {
      logger.fatal({ err }, `cannot serve /metrics on ${args.metricsHost}:${args.metricsPort} (AGENT_METRICS_PORT, --metrics-port; off to disable)`);
      process.exit(1);
    }
  }
  worker.event.on("worker_registered", (id: string) =>
    logger.info({ event: "agent_registered", worker_id: id, url: config.livekit!.url }, `tutor agent registered with ${config.livekit!.url}`),
  );
  let stopping = false;
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      logger.info({ event: "agent_stopping", signal }, "stopping: leaving rooms");
      worker.close().then(
        () => (metrics?.close() ?? Promise.resolve()).finally(() => process.exit(0)),
        (err: unknown) => {
          logger.error({ err }, "agent shutdown failed");
          process.exit(1);
        },
      );
    });
  }
  try {
    await worker.run();
  } catch (err) {
    logger.fatal({ err }, "the agent worker stopped");
    process.exit(1);
  }
}

const invoked = process.argv[1] ? realpathSync(process.argv[1]) : "";
if (invoked === fileURLToPath(import.meta.url)) void main();
