// A tutoring turn over REST, as Server-Sent Events: one `event: <type>` per protocol message.
import { TutorError } from "@tutor/core";
import { rest, type ServerMessage, type SessionEndReason } from "@tutor/protocol";
import { IdParams, publish, requireUser, secured, userId, type RoutePlugin } from "./common.js";

export const turnRoutes: RoutePlugin = async (app, { ctx }) => {
  app.post(
    "/api/conversations/:id/messages",
    {
      preHandler: requireUser(ctx),
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
      // Over a limit: a plain 429 with Retry-After, before any event is sent.
      const permit = await ctx.turns.admit(uid);
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache, no-transform",
        connection: "keep-alive",
        "x-accel-buffering": "no",
      });
      const controller = new AbortController();
      let ended = false;
      // The client went away: stop the model; what was said is stored.
      res.on("close", () => controller.abort());
      const write = (m: ServerMessage) => {
        if (ended) return publish(ctx, req, m);
        if (!res.writableEnded && !res.destroyed) res.write(`event: ${m.type}\ndata: ${JSON.stringify(m)}\n\n`);
        publish(ctx, req, m);
      };
      // A logout of this token (anywhere) ends the stream like a WebSocket's session; a cancel_response
      // for this conversation from another connection stops it. Either way what was said is stored.
      const auth = req.auth!;
      const endSession = (reason: SessionEndReason) => {
        if (ended) return;
        if (!res.writableEnded && !res.destroyed) res.write(`event: session_ended\ndata: ${JSON.stringify({ type: "session_ended", reason })}\n\n`);
        ended = true;
        controller.abort();
      };
      const unsubscribe = ctx.hub.subscribe(uid, (e) => {
        if (e.kind === "session_ended" && (e.jti === undefined || e.jti === auth.jti)) endSession(e.reason);
        else if (e.kind === "cancel_turn" && e.conversationId === conversation.id) controller.abort();
      });
      // The hub came back after missing events: a logout of this token elsewhere meanwhile ends the stream now.
      const offResync = ctx.hubHandle.onResync(() => {
        ctx.auth.ended(auth).then(
          (reason) => reason && endSession(reason),
          (err: unknown) => req.log.warn({ err, event: "resync_check_failed" }, "could not re-check the sign-in after a hub reconnect"),
        );
      });
      try {
        const outcome = await ctx.turns.run(
          { userId: uid, conversationId: conversation.id, text: req.body.text, hidden: req.body.hidden, speak: req.body.speak },
          write,
          controller.signal,
          permit,
        );
        ctx.metrics.turns.inc({ status: outcome.status });
      } catch (err) {
        const e = err instanceof TutorError ? err : undefined;
        if (!e) req.log.error({ err }, "turn failed");
        write({ type: "error", code: e?.code ?? "internal", message: e?.message ?? "something went wrong on our side; please try again" });
      } finally {
        unsubscribe();
        offResync();
        res.end();
      }
    },
  );
};
