// Server-side voice input: the speech-to-text adapter (with the core's retry
// policy) and the Silero VAD workers, wired only when STT is configured.
import { RetryingSpeechToText, ServerSpeech, type Logger, type VoiceDeps } from "@tutor/core";
import { createOpenAISpeech, createOpenAITranscriber } from "@tutor/llm";
import { SileroVad } from "@tutor/voice";
import type { Config } from "./config.js";
import type { Metrics } from "./metrics.js";

export interface ServerVoice {
  /** What every Session gets (see sessionDeps). */
  deps: VoiceDeps;
  /** Ends the VAD worker threads. */
  close(): Promise<void>;
}

export async function createVoice(config: Config, logger: Logger, metrics: Metrics): Promise<ServerVoice | undefined> {
  const stt = config.stt;
  if (stt.provider !== "server") return undefined;
  const log = logger.child({ component: "voice" });
  let vad: SileroVad;
  try {
    vad = await SileroVad.load({
      ...(config.voice.vadWorkers === undefined ? {} : { workers: config.voice.vadWorkers }),
      ...(config.voice.vadModelPath === undefined ? {} : { modelPath: config.voice.vadModelPath }),
    });
  } catch (err) {
    // A broken install must not take text tutoring down with it: voice falls back to the browser.
    log.error(
      { event: "voice_unavailable", err: String(err) },
      "could not load the voice activity detector (onnxruntime-node / @livekit/agents-plugin-silero); server voice input is off — reinstall with `npm install`",
    );
    return undefined;
  }
  const transcriber = new RetryingSpeechToText(createOpenAITranscriber({ baseURL: stt.baseUrl, apiKey: stt.apiKey, model: stt.model }), {
    ...config.voice.settings.stt,
    logger: log,
  });
  log.info({ event: "voice_ready", stt_model: stt.model, vad_workers: vad.workers }, "server voice input ready");
  return {
    deps: {
      stt: transcriber,
      createVad: vad.createVad,
      settings: config.voice.settings,
      onLatency: (l) => metrics.observeVoiceLatency(l),
    },
    close: () => vad.close(),
  };
}

/** The server voice (TTS_PROVIDER=openai): the speech adapter, its rest after failures and its latency metrics. */
export function createServerSpeech(config: Config, logger: Logger, metrics: Metrics): ServerSpeech | undefined {
  const tts = config.tts;
  if (tts.provider !== "openai") return undefined;
  const speech = new ServerSpeech(createOpenAISpeech({ baseURL: tts.baseUrl, apiKey: tts.apiKey, model: tts.model, voice: tts.voice }), {
    provider: "openai",
    settings: config.speech,
    logger: logger.child({ component: "tts" }),
    onLatency: (stage, ms) => metrics.speechLatency.observe({ stage }, ms / 1000),
  });
  logger.info({ event: "tts_ready", tts_model: tts.model, tts_voice: tts.voice, tts_url: tts.baseUrl }, "server voice ready");
  return speech;
}
