// Auth and account: register, login, logout, who am I, change the password, delete the account.
import { z } from "zod";
import { PublicUser, rest } from "@tutor/protocol";
import { AuthBody, ErrorBody, requireUser, secured, type RoutePlugin } from "./common.js";

/**
 * Only a brake on floods of requests from one address: the real limits
 * (failed logins per account and address, registrations per address, argon2
 * behind a semaphore) are the core's, shared with the WebSocket. Generous,
 * since a class behind one NAT signs in together.
 */
const authLimit = { rateLimit: { max: 600, timeWindow: "1 minute" } };

export const authRoutes: RoutePlugin = async (app, { ctx }) => {
  const signedIn = requireUser(ctx);
  app.post(
    "/api/auth/register",
    {
      config: authLimit,
      schema: {
        body: z.object({ username: z.string(), password: z.string(), email: z.string().optional() }),
        response: { 201: AuthBody, "4xx": ErrorBody },
      },
    },
    async (req, reply) => reply.code(201).send(await ctx.auth.register(req.body, req.ip)),
  );
  app.post(
    "/api/auth/login",
    { config: authLimit, schema: { body: rest.login, response: { 200: AuthBody, "4xx": ErrorBody } } },
    async (req) => ctx.auth.login(req.body, req.ip),
  );
  app.post("/api/auth/logout", { preHandler: signedIn, schema: { ...secured } }, async (req, reply) => {
    await ctx.auth.logout(req.auth!);
    return reply.code(204).send();
  });
  app.get(
    "/api/auth/me",
    { preHandler: signedIn, schema: { ...secured, response: { 200: z.object({ user: PublicUser }) } } },
    async (req) => ({ user: req.auth!.user }),
  );
  // A wrong password answers 401 invalid_credentials and changes nothing.
  app.post(
    "/api/auth/password",
    { config: authLimit, preHandler: signedIn, schema: { ...secured, body: rest.changePassword, response: { 200: z.object({ revoked_sessions: z.number() }), "4xx": ErrorBody } } },
    async (req) => {
      const revoked = await ctx.auth.changePassword(req.auth!, req.body);
      return { revoked_sessions: revoked.length };
    },
  );
  app.delete(
    "/api/auth/me",
    { config: authLimit, preHandler: signedIn, schema: { ...secured, body: rest.deleteAccount } },
    async (req, reply) => {
      await ctx.auth.deleteAccount(req.auth!, req.body.password);
      return reply.code(204).send();
    },
  );
};
