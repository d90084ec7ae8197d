// What every route plugin shares: the plugin type, bearer-token auth, the
// owner's id, hub publishing, common response schemas and the one error shape.
import type { FastifyReply, FastifyRequest } from "fastify";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { AuthError, TutorError, hubEventFor, type Session } from "@tutor/core";
import { PublicUser, type ErrorCode, type LimitName, type RestError, type ServerMessage } from "@tutor/protocol";
import type { AppContext } from "../context.js";

/** What the route plugins are given: the wiring and the open WebSocket sessions. */
export interface RouteOptions {
  ctx: AppContext;
  sessions: Set<Session>;
}

/** A route plugin of one area (auth, conversations, turns, …), registered by `buildApp`. */
export type RoutePlugin = FastifyPluginAsyncZod<RouteOptions>;

export const AuthBody = z.object({ user: PublicUser, token: z.string(), expires_at: z.string() });
export const ErrorBody = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    error_type: z.string().optional(),
    retry_after_s: z.number().optional(),
    limit: z.string().optional(),
  }),
});
export const IdParams = z.object({ id: z.string().min(1).max(64) });
export const secured = { security: [{ bearer: [] }] };

/** preHandler: verifies the bearer token and puts the session on `req.auth`. */
export function requireUser(ctx: AppContext) {
  return async (req: FastifyRequest): Promise<void> => {
    const header = req.headers.authorization;
    const token = header?.startsWith("Bearer ") ? header.slice(7).trim() : undefined;
    if (!token) throw new TutorError("unauthenticated", "missing bearer token; sign in first");
    try {
      req.auth = await ctx.auth.verify(token);
    } catch (err) {
      if (err instanceof AuthError) throw new TutorError("unauthenticated", err.message);
      throw err;
    }
  };
}

/** The signed-in user's id (only after `requireUser`). */
export function userId(req: FastifyRequest): string {
  return req.auth!.userId;
}

/** Shows a change made over REST in the user's open connections. */
export function publish(ctx: AppContext, req: FastifyRequest, message: ServerMessage): void {
  const event = hubEventFor(message, userId(req), `rest:${req.id}`);
  if (event) ctx.hub.publish(event.userId, event);
}

export function sendError(
  reply: FastifyReply,
  status: number,
  code: ErrorCode,
  message: string,
  errorType?: string,
  limited?: { retryAfterSeconds?: number | undefined; limit?: LimitName | undefined },
) {
  const extra: Partial<RestError["error"]> = {};
  if (limited?.retryAfterSeconds !== undefined) {
    void reply.header("retry-after", String(limited.retryAfterSeconds));
    extra.retry_after_s = limited.retryAfterSeconds;
  }
  if (limited?.limit) extra.limit = limited.limit;
  const body: RestError = { error: { code, message, ...(errorType ? { error_type: errorType as never } : {}), ...extra } };
  return reply.code(status).type("application/json").serializer(JSON.stringify).send(body);
}

export function authErrorCode(err: AuthError): ErrorCode {
  switch (err.errorType) {
    case "validation":
    case "username_taken":
    case "email_taken":
      return "invalid_message";
    case "rate_limited":
      return "rate_limited";
    default:
      return "unauthenticated";
  }
}

export function turnStatus(m: Extract<ServerMessage, { type: "ai_response" }>): string {
  if (m.topic_rejected) return "rejected";
  if (m.cancelled) return "cancelled";
  if (m.error) return "error";
  return "answered";
}
