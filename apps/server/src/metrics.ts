// Prometheus metrics at /metrics (prom-client), one registry per app.
import type { VoiceLatency } from "@tutor/core";
import type { HubObserver } from "@tutor/store";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

// One registration shape for every metric below; `labels` become prom-client's typed label names.
function counter<L extends string = never>(registry: Registry, name: string, help: string, labels: readonly L[] = []): Counter<L> {
  return new Counter({ name, help, labelNames: labels, registers: [registry] });
}
function gauge(registry: Registry, name: string, help: string): Gauge {
  return new Gauge({ name, help, registers: [registry] });
}
function histogram<L extends string = never>(
  registry: Registry,
  name: string,
  help: string,
  buckets: number[],
  labels: readonly L[] = [],
): Histogram<L> {
  return new Histogram({ name, help, buckets, labelNames: labels, registers: [registry] });
}

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10];

export class Metrics {
  readonly registry = new Registry();
  readonly turns = counter(this.registry, "tutor_turns_total", "Tutoring turns by outcome", ["status"]);
  readonly firstDelta = histogram(
    this.registry,
    "tutor_turn_first_delta_seconds",
    "Time from a question arriving to its first streamed answer text",
    LATENCY_BUCKETS,
  );
  readonly connections = gauge(this.registry, "tutor_ws_connections", "Open WebSocket connections");
  readonly protocolErrors = counter(this.registry, "tutor_protocol_errors_total", "Error replies sent, by code", ["code"]);

  readonly voiceLatency = histogram(
    this.registry,
    "tutor_voice_latency_seconds",
    "Voice turn latency by stage: end_of_speech_to_transcript (includes the silence that ends an utterance), " +
      "transcript_to_first_token, first_token_to_first_speech, end_of_speech_to_first_speech, end_of_speech_to_first_audio (server voice)",
    [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 1.5, 2, 3, 5, 10],
    ["stage"],
  );

  readonly speechLatency = histogram(
    this.registry,
    "tutor_tts_first_audio_seconds",
    "Server voice, per answer: sent = its first sentence complete -> that sentence's audio handed to the transport; " +
      "played = the same sentence complete -> the client says it plays it",
    LATENCY_BUCKETS,
    ["stage"],
  );

  // The event hub between instances (PostgreSQL LISTEN/NOTIFY; with the in-process hub only `published` moves).
  readonly hubEvents = counter(
    this.registry,
    "tutor_hub_events_total",
    "Hub events by direction (published here, received from another instance) and kind",
    ["direction", "kind"],
  );
  readonly hubUnrouted = counter(
    this.registry,
    "tutor_hub_unrouted_total",
    "Events from other instances for users with no connection here (ignored; normal)",
  );
  readonly hubDropped = counter(
    this.registry,
    "tutor_hub_dropped_total",
    "Hub events dropped: too_large, bad_payload, queue_full, notify_failed, listener_error",
    ["reason"],
  );
  readonly hubLag = histogram(
    this.registry,
    "tutor_hub_lag_seconds",
    "Time from an event's NOTIFY on another instance to its arrival here",
    [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 5],
  );
  readonly hubConnected = gauge(
    this.registry,
    "tutor_hub_connected",
    "1 while the hub's listening connection is up (always 1 for the in-process hub)",
  );
  readonly hubReconnects = counter(
    this.registry,
    "tutor_hub_disconnects_total",
    "Times the hub's listening connection was lost (it reconnects with backoff, then re-synchronises connections)",
  );

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
