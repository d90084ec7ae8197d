export * from "./openai-chat.js";
export * from "./model-list.js";
