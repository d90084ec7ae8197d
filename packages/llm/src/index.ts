export * from "./openai-chat.js";
export * from "./model-list.js";
export * from "./openai-transcribe.js";
export * from "./openai-speech.js";
export * from "./audio.js";
export * from "./context-windows.js";
