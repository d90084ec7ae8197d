// For operators and clients' start-up: health, readiness, metrics, public configuration.
import { PublicConfig } from "@tutor/protocol";
import { liveConfig } from "../context.js";
import type { RoutePlugin } from "./common.js";

export const operationsRoutes: RoutePlugin = async (app, { ctx }) => {
  // Probes and scrapes come every few seconds: keep them out of the info log.
  app.get("/healthz", { logLevel: "warn", schema: { hide: true } }, async () => ({ status: "ok" }));
  // Ready = the database answers (within 2 s) and, with several instances, the hub hears the others:
  // an instance deaf to other instances would show students stale conversations.
  app.get("/readyz", { logLevel: "warn", schema: { hide: true } }, async (_req, reply) => {
    let timer: NodeJS.Timeout | undefined;
    const database = await Promise.race([
      ctx.store.ping().then(
        () => "ok" as const,
        () => "unavailable" as const,
      ),
      new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), 2_000))),
    ]);
    clearTimeout(timer);
    const hub = { kind: ctx.hubHandle.kind, connected: ctx.hubHandle.connected() };
    const ready = database === "ok" && hub.connected;
    return reply.code(ready ? 200 : 503).send({ status: ready ? "ready" : "unavailable", database, hub });
  });
  app.get("/api/config", { schema: { response: { 200: PublicConfig } } }, async () => liveConfig(ctx));
  app.get("/metrics", { logLevel: "warn", schema: { hide: true } }, async (_req, reply) => {
    void reply.type(ctx.metrics.registry.contentType);
    return ctx.metrics.registry.metrics();
  });
};
