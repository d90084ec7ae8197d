export * from "./errors.js";
export * from "./ports.js";
export * from "./ids.js";
export * from "./llm/chain.js";
export * from "./guard/index.js";
export * from "./prompts.js";
export * from "./speech/index.js";
