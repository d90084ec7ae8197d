// LiveKit: a room of the student's own with the tutor agent dispatched, and a join token.
import { TutorError } from "@tutor/core";
import { LiveKitToken } from "@tutor/protocol";
import { requireUser, secured, sendError, type RoutePlugin } from "./common.js";

export const liveKitRoutes: RoutePlugin = async (app, { ctx }) => {
  app.post(
    "/api/livekit/token",
    {
      // Each room holds an agent process until the student joins or the join window ends: limit per user
      // (counted after sign-in is checked, so the key is the user, not a shared school IP).
      config: { rateLimit: { max: 10, timeWindow: "1 minute", hook: "preHandler", keyGenerator: (req) => `livekit:${req.auth?.userId ?? req.ip}` } },
      preHandler: requireUser(ctx),
      schema: {
        ...secured,
        description:
          "A room for this user's voice session with the tutor agent dispatched, and a short-lived token to join it (404 when LiveKit is not configured).",
        response: { 200: LiveKitToken },
      },
    },
    async (req, reply) => {
      if (!ctx.livekit) {
        throw new TutorError(
          "not_found",
          "LiveKit is not configured on this server (LIVEKIT_URL, LIVEKIT_API_KEY, LIVEKIT_API_SECRET); use the WebSocket at /ws",
        );
      }
      try {
        return await ctx.livekit.open(req.auth!);
      } catch (err) {
        req.log.error({ err, event: "livekit_unavailable" }, "could not create a LiveKit room");
        return sendError(reply, 503, "internal", "the voice server (LiveKit) did not answer; try again, or use the built-in connection");
      }
    },
  );
};
