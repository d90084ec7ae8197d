// One typed error family. Transports turn a TutorError into a protocol
// `error` frame or an HTTP status in exactly one place each.
import { ERROR_HTTP_STATUS, type AuthAction, type AuthErrorType, type ErrorCode, type LimitName } from "@tutor/protocol";

export class TutorError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "TutorError";
    this.code = code;
  }
  get status(): number {
    return ERROR_HTTP_STATUS[this.code];
  }
}

export class NotFoundError extends TutorError {
  constructor(what = "conversation") {
    super("not_found", `${what} not found`);
    this.name = "NotFoundError";
  }
}

/** Over a limit: protocol `error` `rate_limited` with `retry_after_s`; REST 429 with Retry-After. */
export class RateLimitedError extends TutorError {
  /** Whole seconds until it is allowed again (at least 1). */
  readonly retryAfterSeconds: number;
  readonly limit: LimitName;
  constructor(limit: LimitName, message: string, retryAfterMs: number) {
    super("rate_limited", message);
    this.name = "RateLimitedError";
    this.limit = limit;
    this.retryAfterSeconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  }
}

/** An auth failure; carried to the client as `auth_response` with `error_type`. */
export class AuthError extends Error {
  readonly errorType: AuthErrorType;
  readonly action: AuthAction;
  /** Seconds until a rate-limited action may be tried again. */
  readonly retryAfterSeconds: number | undefined;
  /** With `rate_limited`: which limit refused. */
  readonly limit: LimitName | undefined;
  constructor(action: AuthAction, errorType: AuthErrorType, message: string, retryAfterSeconds?: number, limit?: LimitName) {
    super(message);
    this.name = "AuthError";
    this.action = action;
    this.errorType = errorType;
    this.retryAfterSeconds = retryAfterSeconds;
    this.limit = limit;
  }
  get status(): number {
    switch (this.errorType) {
      case "validation":
        return 400;
      case "username_taken":
      case "email_taken":
        return 409;
      case "rate_limited":
        return 429;
      default:
        return 401;
    }
  }
}

/** A unique-constraint violation raised by a Store adapter. */
export class ConflictError extends Error {
  readonly field: "username" | "email";
  constructor(field: "username" | "email") {
    super(`${field} already exists`);
    this.name = "ConflictError";
    this.field = field;
  }
}

export type LlmErrorKind =
  | "timeout" // no answer / first token in time
  | "rate_limited" // 429
  | "unavailable" // 5xx, connection refused/reset
  | "bad_response" // malformed body, stream cut mid-answer
  | "client_error" // other 4xx: not retried
  | "context_length" // the prompt does not fit the model's context window: not retried, not the model's ill health
  | "not_ready" // the model cannot answer yet or at all (a local model downloading, or one that failed to load); its message is for the student
  | "aborted"; // the caller's AbortSignal fired

/**
 * A failure of one model call. `retryable` decides whether the chain may come
 * back to this model; `retryAfterMs` carries a server's Retry-After.
 */
export class LlmError extends Error {
  readonly kind: LlmErrorKind;
  readonly status: number | undefined;
  readonly retryAfterMs: number | undefined;
  readonly model: string;
  constructor(
    kind: LlmErrorKind,
    model: string,
    message: string,
    opts: { status?: number; retryAfterMs?: number; cause?: unknown } = {},
  ) {
    super(message, { cause: opts.cause });
    this.name = "LlmError";
    this.kind = kind;
    this.model = model;
    this.status = opts.status;
    this.retryAfterMs = opts.retryAfterMs;
  }
  get retryable(): boolean {
    return this.kind === "timeout" || this.kind === "rate_limited" || this.kind === "unavailable";
  }
}

export function isAbortError(err: unknown): boolean {
  return (
    (err instanceof LlmError && err.kind === "aborted") ||
    (err instanceof Error && (err.name === "AbortError" || err.name === "APIUserAbortError"))
  );
}
