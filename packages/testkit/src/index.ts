export * from "./fake-llm.js";
export * from "./pg.js";
export * from "./fake-stt.js";
export * from "./speech.js";
export * from "./net.js";
export * from "./servers.js";
export * from "./gguf.js";
export * from "./fake-hub.js";
