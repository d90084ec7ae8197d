export * from "./errors.js";
export * from "./ports.js";
export * from "./ids.js";
export * from "./llm/chain.js";
