export * from "./fake-llm.js";
export * from "./pg.js";
