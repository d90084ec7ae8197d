// The agent worker's own /metrics (Prometheus). Rooms run in job processes
// forked by @livekit/agents, each with the server's `Metrics` (turns, voice
// latency, hub) in its own memory: a job pushes its `tutor_*` metrics to the
// worker over loopback HTTP every few seconds and when its room ends, and the
// worker serves the sum of every job's figures with its own (rooms, process).
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { AggregatorRegistry, Counter, Gauge, Registry, collectDefaultMetrics, type MetricObjectWithValues, type MetricValue } from "prom-client";

/** Set by the worker for its job processes (they inherit the environment): where to push. */
export const PUSH_ENV = "TUTOR_AGENT_METRICS_PUSH";
const PUSH_EVERY_MS = 5_000;
const MAX_PUSH_BYTES = 1024 * 1024;

type Snapshot = MetricObjectWithValues<MetricValue<string>>[];

export class WorkerMetrics {
  readonly registry = new Registry();
  /** Last snapshot of each running job process. */
  readonly #live = new Map<number, Snapshot>();
  /** Counters and histograms of jobs that ended, summed (their gauges end with them). */
  #finished: Snapshot = [];
  readonly #pushPath = `/push/${randomBytes(16).toString("hex")}`;
  #server: Server | undefined;
  readonly #declined: Counter;

  constructor(activeRooms: () => number) {
    collectDefaultMetrics({ register: this.registry, prefix: "tutor_agent_" });
    new Gauge({
      name: "tutor_agent_rooms",
      help: "Rooms (job processes with a student) this worker serves now",
      registers: [this.registry],
      collect() {
        this.set(activeRooms());
      },
    });
    this.#declined = new Counter({
      name: "tutor_agent_dispatches_declined_total",
      help: "Dispatches declined because their room was closed before the tutor came (a newer room of the same student replaced it)",
      registers: [this.registry],
    });
    const live = this.#live;
    new Gauge({
      name: "tutor_agent_job_processes_reporting",
      help: "Job processes whose metrics are in this scrape",
      registers: [this.registry],
      collect() {
        this.set(live.size);
      },
    });
  }

  /** A dispatch was declined: its room was already closed. */
  dispatchDeclined(): void {
    this.#declined.inc();
  }

  /** Serves GET /metrics (and takes pushes) on host:port; resolves with the bound port. */
  async listen(host: string, port: number): Promise<number> {
    const server = createServer((req, res) => {
      if (req.method === "GET" && req.url === "/metrics") {
        this.render().then(
          (text) => res.writeHead(200, { "content-type": this.registry.contentType }).end(text),
          () => res.writeHead(500).end(),
        );
      } else if (req.method === "POST" && req.url?.startsWith(this.#pushPath)) {
        void this.#takePush(req).then((status) => res.writeHead(status).end());
      } else {
        res.writeHead(404, { "content-type": "text/plain" }).end("not found: GET /metrics\n");
      }
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => resolve());
    });
    this.#server = server;
    const bound = server.address();
    return typeof bound === "object" && bound ? bound.port : port;
  }

  /** The URL job processes push to (a secret path: the port may be reachable by others). */
  pushUrl(host: string, port: number): string {
    const reach = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host;
    return `http://${reach}:${port}${this.#pushPath}`;
  }

  async render(): Promise<string> {
    // A job process that died without its final push: keep what it counted, drop its gauges.
    for (const [pid, snapshot] of this.#live) if (!alive(pid)) await this.#finish(pid, snapshot);
    const own = await this.registry.getMetricsAsJSON();
    return AggregatorRegistry.aggregate([own, this.#finished, ...this.#live.values()]).metrics();
  }

  async close(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  async #takePush(req: IncomingMessage): Promise<number> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of req as AsyncIterable<Buffer>) {
      size += c.length;
      if (size > MAX_PUSH_BYTES) return 413;
      chunks.push(c);
    }
    let body: { pid?: unknown; final?: unknown; metrics?: unknown };
    try {
      body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as typeof body;
    } catch {
      return 400;
    }
    if (typeof body.pid !== "number" || !Array.isArray(body.metrics)) return 400;
    const snapshot = body.metrics as Snapshot;
    if (body.final === true) await this.#finish(body.pid, snapshot);
    else this.#live.set(body.pid, snapshot);
    return 204;
  }

  async #finish(pid: number, snapshot: Snapshot): Promise<void> {
    this.#live.delete(pid);
    const lasting = snapshot.filter((m) => String(m.type) === "counter" || String(m.type) === "histogram");
    this.#finished = (await AggregatorRegistry.aggregate([this.#finished, lasting]).getMetricsAsJSON()) as Snapshot;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * In a job process: pushes this process's `tutor_*` metrics to the worker
 * (when it set PUSH_ENV) every few seconds; `final()` sends the last figures
 * when the room ends. Failures are ignored: metrics must never end a room.
 */
export function startMetricsPush(registry: Registry, env: NodeJS.ProcessEnv = process.env): { final(): Promise<void> } {
  const url = env[PUSH_ENV];
  if (!url) return { final: async () => undefined };
  const push = async (final: boolean) => {
    const metrics = (await registry.getMetricsAsJSON()).filter((m) => m.name.startsWith("tutor_"));
    await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ pid: process.pid, final, metrics }),
      signal: AbortSignal.timeout(2_000),
    }).catch(() => undefined);
  };
  const timer = setInterval(() => void push(false), PUSH_EVERY_MS).unref();
  let done: Promise<void> | undefined;
  return {
    final: () => {
      clearInterval(timer);
      return (done ??= push(true));
    },
  };
}
