// Readable text for every failure the app shows: protocol error codes and the
// transport's own (not connected, timeout), never raw JSON.
import type { ErrorCode } from "@tutor/protocol";
import { RequestError } from "../protocol/transport.js";

export function errorText(code: ErrorCode | RequestError["code"], serverMessage?: string): string {
  switch (code) {
    case "rate_limited":
      return "You are going a little fast. Wait a moment and try again.";
    case "llm_unavailable":
      return "The tutor's language model is not reachable right now. Try again in a minute.";
    case "not_found":
      return "That conversation no longer exists.";
    case "unauthenticated":
      return "Your session has ended. Please sign in again.";
    case "too_large":
      return "That message is too large to send.";
    case "invalid_message":
    case "bad_json":
    case "unknown_type":
      return serverMessage ? `The server refused the request: ${serverMessage}` : "The server refused the request.";
    case "not_connected":
    case "connection_lost":
      return "Not connected to the server. Reconnecting…";
    case "timeout":
      return "The server did not answer in time. Try again.";
    case "internal":
    default:
      return "Something went wrong on the server. Try again.";
  }
}

/** The text for whatever a request rejected with. */
export function failureText(err: unknown): string {
  return err instanceof RequestError ? errorText(err.code, err.message) : errorText("internal");
}
