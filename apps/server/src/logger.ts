import { pino, type Logger as Pino } from "pino";
import type { Logger } from "@tutor/core";

/** Paths never written to logs, wherever they appear. */
export const REDACT = [
  "password",
  "*.password",
  "*.*.password",
  "token",
  "*.token",
  "*.*.token",
  "req.headers.authorization",
  "headers.authorization",
  "apiKey",
  "*.apiKey",
];

export function createLogger(level: string, destination?: pino.DestinationStream): Pino & Logger {
  return pino({ level, redact: { paths: REDACT, censor: "[redacted]" }, base: { service: "tutor" } }, destination);
}
