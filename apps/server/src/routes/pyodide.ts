// Pyodide's runtime files (from the `pyodide` npm package the web app
// depends on) at /pyodide/, so Python exercises run with no CDN. The browser
// asks for them only when the first Python exercise runs, and keeps them
// (a day, then revalidated by ETag).
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import fastifyStatic from "@fastify/static";
import type { App } from "../app.js";
import type { AppContext } from "../context.js";

export const PYODIDE_PREFIX = "/pyodide/";

/** The folder of the pyodide package, looked up from the web app first (it declares the dependency). */
export function pyodideDir(webDist: string): string | undefined {
  for (const from of [join(webDist, "..", "package.json"), import.meta.filename]) {
    try {
      const dir = dirname(createRequire(from).resolve("pyodide/package.json"));
      if (existsSync(join(dir, "pyodide.asm.wasm"))) return dir;
    } catch {
      // try the next place
    }
  }
  return undefined;
}

export async function registerPyodide(app: App, ctx: AppContext): Promise<void> {
  const root = pyodideDir(ctx.config.webDist);
  if (!root) {
    ctx.logger.warn({ event: "pyodide_missing" }, "the pyodide package is not installed: Python exercises cannot run");
    return;
  }
  await app.register(fastifyStatic, {
    root,
    prefix: PYODIDE_PREFIX,
    decorateReply: false,
    wildcard: true,
    index: false,
    maxAge: "1d",
    // Only the runtime itself, not the package's demo pages.
    allowedPath: (path) => /^\/?(pyodide(\.asm)?\.(mjs|wasm)|python_stdlib\.zip|pyodide-lock\.json)$/.test(path),
  });
}
