export * from "./silero.js";
