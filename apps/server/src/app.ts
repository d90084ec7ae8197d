// The HTTP server: the Fastify instance, the one error handler, the shared
// plugins, and the route plugins by area (routes/): operations, auth and
// account, conversations, turns (SSE), LiveKit, the WebSocket, the web app.
// Transports only translate; the core decides.
import fastifyHelmet from "@fastify/helmet";
import fastifyRateLimit from "@fastify/rate-limit";
import fastifySwagger from "@fastify/swagger";
import fastifySwaggerUi from "@fastify/swagger-ui";
import fastifyWebsocket from "@fastify/websocket";
import Fastify from "fastify";
import {
  hasZodFastifySchemaValidationErrors,
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from "fastify-type-provider-zod";
import type { Logger as Pino } from "pino";
import { AuthError, RateLimitedError, TutorError, newId, type Session, type VerifiedToken } from "@tutor/core";
import { MAX_FRAME_BYTES } from "@tutor/protocol";
import type { AppContext } from "./context.js";
import { authRoutes } from "./routes/auth.js";
import { authErrorCode, sendError, type RouteOptions } from "./routes/common.js";
import { conversationRoutes } from "./routes/conversations.js";
import { dataRoutes } from "./routes/data.js";
import { liveKitRoutes } from "./routes/livekit.js";
import { operationsRoutes } from "./routes/operations.js";
import { turnRoutes } from "./routes/turns.js";
import { registerPyodide } from "./routes/pyodide.js";
import { registerWebApp } from "./routes/web.js";
import { WS_MAX_PAYLOAD, wsRoutes } from "./routes/ws.js";

export { WS_MAX_PAYLOAD } from "./routes/ws.js";

declare module "fastify" {
  interface FastifyRequest {
    auth?: VerifiedToken;
  }
}

function createFastify(logger: Pino, trustProxy: string[]) {
  const app = Fastify({
    loggerInstance: logger,
    // TRUST_PROXY: only these proxies' X-Forwarded-For is believed (req.ip is
    // the student's address for the limits); unset, nobody's is.
    trustProxy: trustProxy.length ? trustProxy : false,
    bodyLimit: MAX_FRAME_BYTES,
    genReqId: () => newId(),
    return503OnClosing: true,
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  return app;
}
export type App = ReturnType<typeof createFastify>;

export interface BuiltApp {
  app: App;
  /** Open WebSocket sessions, for graceful shutdown. */
  sessions: Set<Session>;
}

/** 8388608 -> "8 MiB", 262144 -> "256 KiB". */
export function byteSize(n: number): string {
  if (n >= 1024 * 1024 && n % (1024 * 1024) === 0) return `${n / (1024 * 1024)} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} bytes`;
}

export async function buildApp(ctx: AppContext, logger: Pino): Promise<BuiltApp> {
  const app = createFastify(logger, ctx.config.trustProxy);
  const sessions = new Set<Session>();

  // ------------------------------------------------------------ errors: the one place
  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, req, reply) => {
    if (err instanceof AuthError) {
      return sendError(reply, err.status, authErrorCode(err), err.message, err.errorType, err);
    }
    if (err instanceof RateLimitedError) return sendError(reply, 429, "rate_limited", err.message, undefined, err);
    if (err instanceof TutorError) return sendError(reply, err.status, err.code, err.message);
    if (hasZodFastifySchemaValidationErrors(err)) {
      const issue = err.validation[0];
      const where = issue?.instancePath ? `${issue.instancePath.replace(/^\//, "").replace(/\//g, ".")}: ` : "";
      return sendError(reply, 400, "invalid_message", `${where}${issue?.message ?? "invalid request"}`);
    }
    if (err.code === "FST_ERR_CTP_BODY_TOO_LARGE") {
      // The route's own limit (an import takes more than a message).
      const limit = req.routeOptions.bodyLimit ?? MAX_FRAME_BYTES;
      return sendError(reply, 413, "too_large", `request body is over the limit of ${byteSize(limit)} (${limit} bytes)`);
    }
    if (err.code === "FST_ERR_CTP_INVALID_JSON_BODY" || (err instanceof SyntaxError && err.statusCode === 400)) {
      return sendError(reply, 400, "bad_json", "request body is not valid JSON");
    }
    if (err.statusCode === 429) {
      const retryAfter = Number(reply.getHeader("retry-after"));
      return sendError(reply, 429, "rate_limited", err.message, undefined, Number.isFinite(retryAfter) ? { retryAfterSeconds: retryAfter } : undefined);
    }
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
      return sendError(reply, err.statusCode, "invalid_message", err.message);
    }
    req.log.error({ err }, "request failed");
    return sendError(reply, 500, "internal", "something went wrong on our side; please try again");
  });

  // ------------------------------------------------------------ shared plugins
  await app.register(fastifyHelmet, {
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        // livekit-client speaks ws(s):// to the room and http(s):// to the same host for its checks.
        connectSrc: ["'self'", "ws:", "wss:", ...(ctx.config.livekit ? liveKitOrigins(ctx.config.livekit.url) : [])],
        imgSrc: ["'self'", "data:"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        scriptSrc: ["'self'"],
        mediaSrc: ["'self'", "blob:"],
        workerSrc: ["'self'", "blob:"],
      },
    },
  });
  await app.register(fastifyRateLimit, {
    global: false,
    errorResponseBuilder: (_req, context) => {
      const err = new Error(`too many requests; try again in ${Math.ceil(context.ttl / 1000)} s`) as Error & { statusCode: number };
      err.statusCode = 429;
      return err;
    },
  });
  await app.register(fastifyWebsocket, { options: { maxPayload: WS_MAX_PAYLOAD } });
  await app.register(fastifySwagger, {
    openapi: {
      info: { title: "CS Tutor API", version: "1.0.0", description: "REST + SSE side of the tutoring protocol (see PROTOCOL.md)." },
      components: { securitySchemes: { bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT" } } },
    },
    transform: jsonSchemaTransform,
  });
  await app.register(fastifySwaggerUi, { routePrefix: "/api/docs" });

  // ------------------------------------------------------------ routes, by area
  const opts: RouteOptions = { ctx, sessions };
  await app.register(operationsRoutes, opts);
  await app.register(authRoutes, opts);
  await app.register(conversationRoutes, opts);
  await app.register(dataRoutes, opts);
  await app.register(turnRoutes, opts);
  await app.register(liveKitRoutes, opts);
  await app.register(wsRoutes, opts);
  await registerPyodide(app, ctx);
  await registerWebApp(app, ctx);

  return { app, sessions };
}

function liveKitOrigins(url: string): string[] {
  const u = new URL(url);
  const secure = u.protocol === "wss:" || u.protocol === "https:";
  return [`${secure ? "wss" : "ws"}://${u.host}`, `${secure ? "https" : "http"}://${u.host}`];
}
