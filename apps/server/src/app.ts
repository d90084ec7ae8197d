// The HTTP server: WebSocket /ws, REST + SSE, health, metrics, docs, and the
// built web app. Transports only translate; the core decides.
import { existsSync } from "node:fs";
import { join } from "node:path";
import fastifyHelmet from "@fastify/helmet";
import fastifyRateLimit from "@fastify/rate-limit";
import fastifyStatic from "@fastify/static";
import fastifySwagger from "@fastify/swagger";
import fastifySwaggerUi from "@fastify/swagger-ui";
import fastifyWebsocket from "@fastify/websocket";
import Fastify, { type FastifyReply, type FastifyRequest } from "fastify";
import {
  hasZodFastifySchemaValidationErrors,
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from "fastify-type-provider-zod";
import type { Logger as Pino } from "pino";
import { z } from "zod";
import { AuthError, Session, SHARED_MESSAGE_TYPES, TutorError, newId, type VerifiedToken } from "@tutor/core";
import {
  Conversation,
  ConversationSummary,
  LiveKitToken,
  MAX_FRAME_BYTES,
  PublicConfig,
  PublicUser,
  rest,
  type ErrorCode,
  type RestError,
  type ServerMessage,
} from "@tutor/protocol";
import { sessionDeps, type AppContext } from "./context.js";

declare module "fastify" {
  interface FastifyRequest {
    auth?: VerifiedToken;
  }
}

function createFastify(logger: Pino) {
  const app = Fastify({
    loggerInstance: logger,
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

/** The largest WebSocket message we read at all; 256 KiB..this gets a `too_large` reply, beyond it the socket closes (1009). */
export const WS_MAX_PAYLOAD = 4 * 1024 * 1024;
const HEARTBEAT_MS = 30_000;

const AuthBody = z.object({ user: PublicUser, token: z.string(), expires_at: z.string() });
const ErrorBody = z.object({
  error: z.object({ code: z.string(), message: z.string(), error_type: z.string().optional() }),
});
const IdParams = z.object({ id: z.string().min(1).max(64) });

export async function buildApp(ctx: AppContext, logger: Pino): Promise<BuiltApp> {
  const app = createFastify(logger);
  const sessions = new Set<Session>();

  // ------------------------------------------------------------ errors: the one place
  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, req, reply) => {
    if (err instanceof AuthError) {
      if (err.retryAfterSeconds) void reply.header("retry-after", String(err.retryAfterSeconds));
      return sendError(reply, err.status, authErrorCode(err), err.message, err.errorType);
    }
    if (err instanceof TutorError) return sendError(reply, err.status, err.code, err.message);
    if (hasZodFastifySchemaValidationErrors(err)) {
      const issue = err.validation[0];
      const where = issue?.instancePath ? `${issue.instancePath.replace(/^\//, "").replace(/\//g, ".")}: ` : "";
      return sendError(reply, 400, "invalid_message", `${where}${issue?.message ?? "invalid request"}`);
    }
    if (err.code === "FST_ERR_CTP_BODY_TOO_LARGE") {
      return sendError(reply, 413, "too_large", `request body is over ${MAX_FRAME_BYTES} bytes`);
    }
    if (err.code === "FST_ERR_CTP_INVALID_JSON_BODY" || (err instanceof SyntaxError && err.statusCode === 400)) {
      return sendError(reply, 400, "bad_json", "request body is not valid JSON");
    }
    if (err.statusCode === 429) return sendError(reply, 429, "rate_limited", err.message);
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
      return sendError(reply, err.statusCode, "invalid_message", err.message);
    }
    req.log.error({ err }, "request failed");
    return sendError(reply, 500, "internal", "something went wrong on our side; please try again");
  });

  // ------------------------------------------------------------ plugins
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

  const requireUser = async (req: FastifyRequest) => {
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
  const userId = (req: FastifyRequest): string => req.auth!.userId;
  const publish = (req: FastifyRequest, message: ServerMessage) =>
    ctx.hub.publish(userId(req), { origin: `rest:${req.id}`, message });
  const authLimit = { rateLimit: { max: 30, timeWindow: "1 minute" } };
  const secured = { security: [{ bearer: [] }] };

  // ------------------------------------------------------------ health, config, metrics
  // Probes and scrapes come every few seconds: keep them out of the info log.
  app.get("/healthz", { logLevel: "warn", schema: { hide: true } }, async () => ({ status: "ok" }));
  app.get("/readyz", { logLevel: "warn", schema: { hide: true } }, async (_req, reply) => {
    try {
      await ctx.store.ping();
      return { status: "ready" };
    } catch {
      return reply.code(503).send({ status: "unavailable" });
    }
  });
  app.get("/api/config", { schema: { response: { 200: PublicConfig } } }, async () => ctx.publicConfig);
  app.get("/metrics", { logLevel: "warn", schema: { hide: true } }, async (_req, reply) => {
    void reply.type(ctx.metrics.registry.contentType);
    return ctx.metrics.registry.metrics();
  });

  // ------------------------------------------------------------ auth
  app.post(
    "/api/auth/register",
    { config: authLimit, schema: { body: z.object({ username: z.string(), password: z.string(), email: z.string().optional() }), response: { 201: AuthBody, "4xx": ErrorBody } } },
    async (req, reply) => reply.code(201).send(await ctx.auth.register(req.body)),
  );
  app.post(
    "/api/auth/login",
    { config: authLimit, schema: { body: rest.login, response: { 200: AuthBody, "4xx": ErrorBody } } },
    async (req) => ctx.auth.login(req.body, req.ip),
  );
  app.post("/api/auth/logout", { preHandler: requireUser, schema: { ...secured } }, async (req, reply) => {
    await ctx.auth.logout(req.auth!.jti);
    return reply.code(204).send();
  });
  app.get("/api/auth/me", { preHandler: requireUser, schema: { ...secured, response: { 200: z.object({ user: PublicUser }) } } }, async (req) => ({
    user: req.auth!.user,
  }));

  // ------------------------------------------------------------ conversations
  app.get(
    "/api/conversations",
    {
      preHandler: requireUser,
      schema: { ...secured, querystring: rest.listQuery, response: { 200: z.object({ conversations: z.array(ConversationSummary), next_cursor: z.string().nullable() }) } },
    },
    async (req) => {
      const page = await ctx.conversations.list(userId(req), {
        limit: req.query.limit,
        cursor: req.query.cursor,
        teachingMode: req.query.teaching_mode,
      });
      return { conversations: page.conversations, next_cursor: page.nextCursor };
    },
  );
  app.post(
    "/api/conversations",
    { preHandler: requireUser, schema: { ...secured, body: rest.createConversation.optional(), response: { 201: z.object({ conversation: Conversation }) } } },
    async (req, reply) => {
      const c = await ctx.conversations.create(userId(req), req.body?.teaching_mode ?? "teacher");
      return reply.code(201).send({ conversation: await ctx.conversations.get(userId(req), c.id) });
    },
  );
  app.get(
    "/api/conversations/:id",
    { preHandler: requireUser, schema: { ...secured, params: IdParams, response: { 200: z.object({ conversation: Conversation }) } } },
    async (req) => ({ conversation: await ctx.conversations.get(userId(req), req.params.id) }),
  );
  app.patch(
    "/api/conversations/:id",
    { preHandler: requireUser, schema: { ...secured, params: IdParams, body: rest.renameConversation, response: { 200: z.object({ conversation: Conversation }) } } },
    async (req) => {
      const conversation = await ctx.conversations.rename(userId(req), req.params.id, req.body.title);
      publish(req, { type: "conversation_data", conversation });
      return { conversation };
    },
  );
  app.delete(
    "/api/conversations/:id",
    {
      preHandler: requireUser,
      schema: { ...secured, params: IdParams, response: { 200: z.object({ conversation_id: z.string(), current_conversation_id: z.string() }) } },
    },
    async (req) => {
      const { currentConversationId } = await ctx.conversations.delete(userId(req), req.params.id);
      const body = { conversation_id: req.params.id, current_conversation_id: currentConversationId };
      publish(req, { type: "conversation_deleted", ...body });
      return body;
    },
  );
  app.delete(
    "/api/conversations",
    {
      preHandler: requireUser,
      schema: {
        ...secured,
        querystring: rest.clearQuery,
        response: { 200: z.object({ teaching_mode: z.string(), deleted_count: z.number(), new_conversation_id: z.string() }) },
      },
    },
    async (req) => {
      const mode = req.query.teaching_mode;
      const { deletedCount, conversation } = await ctx.conversations.clear(userId(req), mode);
      const body = { teaching_mode: mode, deleted_count: deletedCount, new_conversation_id: conversation.id };
      publish(req, { type: "conversations_cleared", ...body });
      return body;
    },
  );

  // ------------------------------------------------------------ LiveKit
  app.post(
    "/api/livekit/token",
    {
      // Each room holds an agent process until the student joins or the join window ends: limit per user
      // (counted after sign-in is checked, so the key is the user, not a shared school IP).
      config: { rateLimit: { max: 10, timeWindow: "1 minute", hook: "preHandler", keyGenerator: (req) => `livekit:${req.auth?.userId ?? req.ip}` } },
      preHandler: requireUser,
      schema: {
        ...secured,
        description: "A room for this user's voice session with the tutor agent dispatched, and a short-lived token to join it (404 when LiveKit is not configured).",
        response: { 200: LiveKitToken },
      },
    },
    async (req, reply) => {
      if (!ctx.livekit) {
        throw new TutorError("not_found", "LiveKit is not configured on this server (LIVEKIT_URL, LIVEKIT_API_KEY, LIVEKIT_API_SECRET); use the WebSocket at /ws");
      }
      try {
        return await ctx.livekit.open(req.auth!);
      } catch (err) {
        req.log.error({ err, event: "livekit_unavailable" }, "could not create a LiveKit room");
        return sendError(reply, 503, "internal", "the voice server (LiveKit) did not answer; try again, or use the built-in connection");
      }
    },
  );

  // A turn as Server-Sent Events: one `event: <type>` per protocol message.
  app.post(
    "/api/conversations/:id/messages",
    {
      preHandler: requireUser,
      schema: {
        ...secured,
        params: IdParams,
        body: rest.postMessage,
        description: "Runs a tutoring turn; the response is text/event-stream with one event per protocol message.",
      },
    },
    async (req, reply) => {
      const uid = userId(req);
      // Resolve before hijacking so a missing conversation is a plain 404.
      const conversation = await ctx.conversations.summary(uid, req.params.id);
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache, no-transform",
        connection: "keep-alive",
        "x-accel-buffering": "no",
      });
      const controller = new AbortController();
      // The client went away: stop the model; what was said is stored.
      res.on("close", () => controller.abort());
      const write = (m: ServerMessage) => {
        if (!res.writableEnded && !res.destroyed) res.write(`event: ${m.type}\ndata: ${JSON.stringify(m)}\n\n`);
        if (SHARED_MESSAGE_TYPES.has(m.type)) publish(req, m);
      };
      try {
        const outcome = await ctx.turns.run(
          { userId: uid, conversationId: conversation.id, text: req.body.text, hidden: req.body.hidden, speak: req.body.speak },
          write,
          controller.signal,
        );
        ctx.metrics.turns.inc({ status: outcome.status });
      } catch (err) {
        const e = err instanceof TutorError ? err : undefined;
        if (!e) req.log.error({ err }, "turn failed");
        write({ type: "error", code: e?.code ?? "internal", message: e?.message ?? "something went wrong on our side; please try again" });
      } finally {
        res.end();
      }
    },
  );

  // ------------------------------------------------------------ WebSocket /ws
  app.get("/ws", { websocket: true, schema: { hide: true } }, (socket, req) => {
    const connLog = req.log.child({ conn: req.id });
    let alive = true;
    // Messages emitted in one go (a delta with its speech chunks, the end of
    // an answer) leave in one write: the TCP socket under the WebSocket is
    // corked at the first and uncorked once the current tick is done.
    const tcp = req.socket;
    let corked = false;
    const uncork = () => {
      corked = false;
      tcp.uncork();
    };
    const session = new Session(
      sessionDeps(ctx, connLog),
      {
        id: req.id,
        address: req.ip,
        send: (m) => {
          if (m.type === "error") ctx.metrics.protocolErrors.inc({ code: m.code });
          else if (m.type === "ai_response") ctx.metrics.turns.inc({ status: turnStatus(m) });
          if (socket.readyState !== socket.OPEN) return;
          if (!corked) {
            corked = true;
            tcp.cork();
            process.nextTick(uncork);
          }
          socket.send(JSON.stringify(m));
        },
      },
    );
    sessions.add(session);
    ctx.metrics.connections.inc();
    connLog.info({ event: "ws_open", address: req.ip }, "connection opened");
    socket.on("pong", () => (alive = true));
    const heartbeat = setInterval(() => {
      if (!alive) return socket.terminate();
      alive = false;
      socket.ping();
    }, HEARTBEAT_MS);
    socket.on("message", (data, isBinary) => {
      const bytes = toBuffer(data);
      if (!isBinary) {
        void session.handleFrame(bytes);
        return;
      }
      // Backpressure: read the next frame only once this one is taken in
      // (the voice detector falls behind only when audio comes faster than real time).
      socket.pause();
      void session.handleAudio(bytes).finally(() => socket.resume());
    });
    socket.on("close", (code) => {
      clearInterval(heartbeat);
      sessions.delete(session);
      ctx.metrics.connections.dec();
      connLog.info({ event: "ws_close", code }, "connection closed");
      void session.close();
    });
  });

  // ------------------------------------------------------------ the web app
  const hasWeb = existsSync(join(ctx.config.webDist, "index.html"));
  if (hasWeb) {
    await app.register(fastifyStatic, { root: ctx.config.webDist, wildcard: false, index: "index.html" });
  }
  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split("?")[0] ?? "";
    const wantsPage = req.method === "GET" && !path.startsWith("/api/") && path !== "/ws" && (req.headers.accept ?? "").includes("text/html");
    if (wantsPage && hasWeb) return reply.type("text/html").sendFile("index.html");
    if (wantsPage) {
      return reply
        .type("text/html")
        .send("<!doctype html><title>CS Tutor</title><p>The web app is not built yet. Run <code>npm start</code> (it builds it) or <code>npm run build</code>.</p>");
    }
    return sendError(reply, 404, "not_found", `no route for ${req.method} ${path}`);
  });

  return { app, sessions };
}

function liveKitOrigins(url: string): string[] {
  const u = new URL(url);
  const secure = u.protocol === "wss:" || u.protocol === "https:";
  return [`${secure ? "wss" : "ws"}://${u.host}`, `${secure ? "https" : "http"}://${u.host}`];
}

function sendError(reply: FastifyReply, status: number, code: ErrorCode, message: string, errorType?: string) {
  const body: RestError = { error: { code, message, ...(errorType ? { error_type: errorType as never } : {}) } };
  return reply.code(status).type("application/json").serializer(JSON.stringify).send(body);
}

function authErrorCode(err: AuthError): ErrorCode {
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

function turnStatus(m: Extract<ServerMessage, { type: "ai_response" }>): string {
  if (m.topic_rejected) return "rejected";
  if (m.cancelled) return "cancelled";
  if (m.error) return "error";
  return "answered";
}

function toBuffer(data: Buffer | ArrayBuffer | Buffer[]): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
