// The built web app at `/`, with the SPA fallback for page addresses, and the
// JSON 404 for everything else. Registered on the root instance (not as an
// encapsulated plugin): the not-found handler is the application's.
import { existsSync } from "node:fs";
import { join } from "node:path";
import fastifyStatic from "@fastify/static";
import type { App } from "../app.js";
import type { AppContext } from "../context.js";
import { sendError } from "./common.js";

/**
 * The exercise runners' workers get their own, stricter policy (a worker
 * follows the CSP delivered with its script): no network at all for the
 * JavaScript runner, only our origin (Pyodide's files) for Python. Running a
 * student's code needs eval (JS) or WebAssembly compilation (Pyodide) — only
 * inside those workers, never on the page.
 */
export const WORKER_CSP = {
  js: "default-src 'none'; script-src 'self' 'unsafe-eval'; connect-src 'none'",
  python: "default-src 'none'; script-src 'self' 'wasm-unsafe-eval' 'unsafe-eval'; connect-src 'self'",
} as const;

export async function registerWebApp(app: App, ctx: AppContext): Promise<void> {
  const hasWeb = existsSync(join(ctx.config.webDist, "index.html"));
  if (hasWeb) {
    await app.register(fastifyStatic, {
      root: ctx.config.webDist,
      wildcard: false,
      index: "index.html",
      setHeaders(res, path) {
        const runner = /exercise-(js|python)\.worker-[\w-]+\.js$/.exec(path)?.[1] as keyof typeof WORKER_CSP | undefined;
        if (runner) res.header("Content-Security-Policy", WORKER_CSP[runner]);
      },
    });
  }
  const notBuilt =
    "<!doctype html><title>CS Tutor</title><p>The web app is not built yet. Run <code>npm start</code> (it builds it) or <code>npm run build</code>.</p>";
  // A conversation's address (PROTOCOL.md): the app opens it after sign-in, whatever the Accept header.
  app.get("/c/*", { schema: { hide: true } }, (_req, reply) => (hasWeb ? reply.type("text/html").sendFile("index.html") : reply.type("text/html").send(notBuilt)));
  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split("?")[0] ?? "";
    const wantsPage = req.method === "GET" && !path.startsWith("/api/") && path !== "/ws" && (req.headers.accept ?? "").includes("text/html");
    if (wantsPage && hasWeb) return reply.type("text/html").sendFile("index.html");
    if (wantsPage) {
      return reply.type("text/html").send(notBuilt);
    }
    return sendError(reply, 404, "not_found", `no route for ${req.method} ${path}`);
  });
}
