export * from "./local-chat.js";
export * from "./manager.js";
