// Every tunable of the voice pipeline in one place. Thresholds are those of
// ARCHITECTURE.md (silence 1.0 s, min speech 0.1 s, prefix padding 0.5 s).
import { AUDIO_SAMPLE_RATE, MAX_AUDIO_FRAME_BYTES } from "@tutor/protocol";
import { MODEL_CHAIN_DEFAULTS, type RetryableKind } from "../llm/chain.js";
import type { SegmenterSettings } from "./segmenter.js";

export const VOICE_DEFAULTS = {
  sampleRate: AUDIO_SAMPLE_RATE,
  /** Larger binary frames are refused (100 ms). Smaller ones are fine: LiveKit delivers 10 ms frames. */
  maxFrameBytes: MAX_AUDIO_FRAME_BYTES,
  /** A frame at or above this probability is speech. */
  activationThreshold: 0.5,
  /** Once speaking, frames stay speech down to this probability (hysteresis against flutter). */
  deactivationThreshold: 0.35,
  /** Speech must last this long before it counts (a click or a cough does not). */
  minSpeechMs: 100,
  /** This much silence ends an utterance. */
  minSilenceMs: 1_000,
  /** Audio kept from before the speech started (soft first syllables) and after it ended. */
  prefixPaddingMs: 500,
  /** Longer speech is cut into pieces of at most this length, each transcribed on its own. */
  maxUtteranceMs: 30_000,
  /** While the browser says it is speaking, speech must last this long to barge in or count at all. */
  bargeInWhilePlayingMs: 400,
  /** Audio waiting for the detector above which the transport is asked to slow down (backpressure). */
  backlogHighWaterMs: 5_000,
  /** A transport that ignores backpressure has frames dropped beyond this backlog. */
  backlogLimitMs: 60_000,
  /** Frames handed to the detector in one call when audio arrives faster than real time. */
  maxBatchFrames: 64,
  /**
   * Audio may arrive faster than real time only in a burst of this much (a
   * token bucket refilled at real time): a client sending faster for longer
   * would turn into paid transcriptions faster than anyone speaks.
   */
  audioBurstMs: 30_000,
  /** Utterances waiting for speech-to-text on one connection; more are refused. */
  maxQueuedUtterances: 3,
  /** Recent messages scanned for the speech recognizer's vocabulary hint. */
  hintMessages: 6,
  /** Longest vocabulary hint (Whisper reads at most 224 tokens of prompt). */
  hintMaxChars: 480,
  stt: {
    /** One transcription request; a 30 s utterance takes ~1 s on Groq, several on a CPU Whisper. */
    attemptTimeoutMs: 15_000,
    /** Give up on an utterance after this long, retries included. */
    deadlineMs: 30_000,
    maxAttempts: 4,
    /** Same schedule as the language models (ARCHITECTURE.md "retries of one model"). */
    retryDelaysMs: MODEL_CHAIN_DEFAULTS.retryDelaysMs,
    jitter: MODEL_CHAIN_DEFAULTS.jitter,
  },
} as const;

export interface SttRetrySettings {
  attemptTimeoutMs: number;
  deadlineMs: number;
  maxAttempts: number;
  retryDelaysMs: Record<RetryableKind, readonly number[]>;
  jitter: number;
}

/** The segmenter's own settings (thresholds, speech and silence lengths) and the pipeline's around it. */
export interface VoiceSettings extends Omit<SegmenterSettings, "frameSamples"> {
  maxFrameBytes: number;
  bargeInWhilePlayingMs: number;
  backlogHighWaterMs: number;
  backlogLimitMs: number;
  maxBatchFrames: number;
  audioBurstMs: number;
  maxQueuedUtterances: number;
  hintMessages: number;
  hintMaxChars: number;
  stt: SttRetrySettings;
}

export type VoiceSettingsInput = Partial<Omit<VoiceSettings, "stt">> & { stt?: Partial<SttRetrySettings> };

/** Defaults overlaid with `input`; throws a RangeError naming a bad value. */
export function voiceSettings(input: VoiceSettingsInput = {}): VoiceSettings {
  const defined = Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined));
  const s: VoiceSettings = {
    ...VOICE_DEFAULTS,
    ...(defined as Partial<VoiceSettings>),
    stt: { ...VOICE_DEFAULTS.stt, ...input.stt },
  };
  const positive = [
    "sampleRate",
    "maxFrameBytes",
    "minSilenceMs",
    "maxUtteranceMs",
    "backlogHighWaterMs",
    "backlogLimitMs",
    "maxBatchFrames",
    "audioBurstMs",
    "maxQueuedUtterances",
  ] as const;
  for (const k of positive) if (!(s[k] > 0)) throw new RangeError(`voice setting ${k} must be > 0, got ${s[k]}`);
  for (const k of ["minSpeechMs", "prefixPaddingMs", "bargeInWhilePlayingMs", "hintMessages", "hintMaxChars"] as const) {
    if (!(s[k] >= 0)) throw new RangeError(`voice setting ${k} must be >= 0, got ${s[k]}`);
  }
  if (!(s.deactivationThreshold > 0 && s.deactivationThreshold <= s.activationThreshold && s.activationThreshold < 1)) {
    throw new RangeError("voice thresholds must satisfy 0 < deactivationThreshold <= activationThreshold < 1");
  }
  if (s.backlogLimitMs < s.backlogHighWaterMs) throw new RangeError("backlogLimitMs must be >= backlogHighWaterMs");
  if (!(s.stt.attemptTimeoutMs > 0 && s.stt.deadlineMs > 0 && s.stt.maxAttempts >= 1)) {
    throw new RangeError("stt attemptTimeoutMs, deadlineMs must be > 0 and maxAttempts >= 1");
  }
  return s;
}
