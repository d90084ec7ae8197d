export * from "./settings.js";
export * from "./pcm.js";
export * from "./segmenter.js";
export * from "./voice-input.js";
export * from "./hint.js";
export * from "./stt-retry.js";
export * from "./latency.js";
export * from "./voice-session.js";
