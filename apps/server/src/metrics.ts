// Prometheus metrics at /metrics (prom-client), one registry per app.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export class Metrics {
  readonly registry = new Registry();
  readonly turns = new Counter({
    name: "tutor_turns_total",
    help: "Tutoring turns by outcome",
    labelNames: ["status"] as const,
    registers: [this.registry],
  });
  readonly firstDelta = new Histogram({
    name: "tutor_turn_first_delta_seconds",
    help: "Time from a question arriving to its first streamed answer text",
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10],
    registers: [this.registry],
  });
  readonly connections = new Gauge({
    name: "tutor_ws_connections",
    help: "Open WebSocket connections",
    registers: [this.registry],
  });
  readonly protocolErrors = new Counter({
    name: "tutor_protocol_errors_total",
    help: "Error replies sent, by code",
    labelNames: ["code"] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }
}
