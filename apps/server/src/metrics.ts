// Prometheus metrics at /metrics (prom-client), one registry per app.
import type { VoiceLatency } from "@tutor/core";
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

  readonly voiceLatency = new Histogram({
    name: "tutor_voice_latency_seconds",
    help:
      "Voice turn latency by stage: end_of_speech_to_transcript (includes the silence that ends an utterance), " +
      "transcript_to_first_token, first_token_to_first_speech, end_of_speech_to_first_speech",
    labelNames: ["stage"] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 1.5, 2, 3, 5, 10],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  observeVoiceLatency(l: VoiceLatency): void {
    const h = this.voiceLatency;
    h.observe({ stage: "end_of_speech_to_transcript" }, l.endOfSpeechToTranscriptMs / 1000);
    if (l.transcriptToFirstTokenMs !== undefined) h.observe({ stage: "transcript_to_first_token" }, l.transcriptToFirstTokenMs / 1000);
    if (l.firstTokenToFirstSpeechMs !== undefined) h.observe({ stage: "first_token_to_first_speech" }, l.firstTokenToFirstSpeechMs / 1000);
    if (l.endOfSpeechToFirstSpeechMs !== undefined) h.observe({ stage: "end_of_speech_to_first_speech" }, l.endOfSpeechToFirstSpeechMs / 1000);
  }
}
