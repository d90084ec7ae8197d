// Prometheus metrics at /metrics (prom-client), one registry per app.
import type { VoiceLatency } from "@tutor/core";
import type { HubObserver } from "@tutor/store";
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
      "transcript_to_first_token, first_token_to_first_speech, end_of_speech_to_first_speech, end_of_speech_to_first_audio (server voice)",
    labelNames: ["stage"] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 1.5, 2, 3, 5, 10],
    registers: [this.registry],
  });

  readonly speechLatency = new Histogram({
    name: "tutor_tts_first_audio_seconds",
    help:
      "Server voice, per answer: sent = its first sentence complete -> that sentence's audio handed to the transport; " +
      "played = the same sentence complete -> the client says it plays it",
    labelNames: ["stage"] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10],
    registers: [this.registry],
  });

  // The event hub between instances (PostgreSQL LISTEN/NOTIFY; with the in-process hub only `published` moves).
  readonly hubEvents = new Counter({
    name: "tutor_hub_events_total",
    help: "Hub events by direction (published here, received from another instance) and kind",
    labelNames: ["direction", "kind"] as const,
    registers: [this.registry],
  });
  readonly hubUnrouted = new Counter({
    name: "tutor_hub_unrouted_total",
    help: "Events from other instances for users with no connection here (ignored; normal)",
    registers: [this.registry],
  });
  readonly hubDropped = new Counter({
    name: "tutor_hub_dropped_total",
    help: "Hub events dropped: too_large, bad_payload, queue_full, notify_failed, listener_error",
    labelNames: ["reason"] as const,
    registers: [this.registry],
  });
  readonly hubLag = new Histogram({
    name: "tutor_hub_lag_seconds",
    help: "Time from an event's NOTIFY on another instance to its arrival here",
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 5],
    registers: [this.registry],
  });
  readonly hubConnected = new Gauge({
    name: "tutor_hub_connected",
    help: "1 while the hub's listening connection is up (always 1 for the in-process hub)",
    registers: [this.registry],
  });
  readonly hubReconnects = new Counter({
    name: "tutor_hub_disconnects_total",
    help: "Times the hub's listening connection was lost (it reconnects with backoff, then re-synchronises connections)",
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  /** Feeds the hub metrics above. */
  hubObserver(): HubObserver {
    return {
      published: (kind) => this.hubEvents.inc({ direction: "published", kind }),
      received: (kind, lagMs) => {
        this.hubEvents.inc({ direction: "received", kind });
        this.hubLag.observe(lagMs / 1000);
      },
      unrouted: () => this.hubUnrouted.inc(),
      dropped: (reason) => this.hubDropped.inc({ reason }),
      connection: (state) => {
        this.hubConnected.set(state === "connected" ? 1 : 0);
        if (state === "disconnected") this.hubReconnects.inc();
      },
    };
  }

  observeVoiceLatency(l: VoiceLatency): void {
    const h = this.voiceLatency;
    h.observe({ stage: "end_of_speech_to_transcript" }, l.endOfSpeechToTranscriptMs / 1000);
    if (l.transcriptToFirstTokenMs !== undefined) h.observe({ stage: "transcript_to_first_token" }, l.transcriptToFirstTokenMs / 1000);
    if (l.firstTokenToFirstSpeechMs !== undefined) h.observe({ stage: "first_token_to_first_speech" }, l.firstTokenToFirstSpeechMs / 1000);
    if (l.endOfSpeechToFirstSpeechMs !== undefined) h.observe({ stage: "end_of_speech_to_first_speech" }, l.endOfSpeechToFirstSpeechMs / 1000);
    if (l.endOfSpeechToFirstAudioMs !== undefined) h.observe({ stage: "end_of_speech_to_first_audio" }, l.endOfSpeechToFirstAudioMs / 1000);
  }
}
