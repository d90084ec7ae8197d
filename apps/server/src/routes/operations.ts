// For operators and clients' start-up: health, readiness, metrics, public configuration.
import { PublicConfig } from "@tutor/protocol";
import type { RoutePlugin } from "./common.js";

export const operationsRoutes: RoutePlugin = async (app, { ctx }) => {
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
};
