// Pyodide's runtime comes from our own server (no CDN), cacheable, and only its runtime files.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "./test-helpers.js";

let srv: TestServer;
beforeAll(async () => {
  srv = await startTestServer();
});
afterAll(async () => {
  await srv?.close();
});

describe("/pyodide/", () => {
  it("serves the runtime files of the pyodide package with a cache lifetime", async () => {
    for (const [file, type] of [
      ["pyodide.mjs", /javascript/],
      ["pyodide.asm.mjs", /javascript/],
      ["pyodide.asm.wasm", /application\/wasm/],
      ["python_stdlib.zip", /zip/],
      ["pyodide-lock.json", /json/],
    ] as const) {
      const res = await fetch(`${srv.url}/pyodide/${file}`, { method: "HEAD" });
      expect(res.status, file).toBe(200);
      expect(res.headers.get("content-type"), file).toMatch(type);
      expect(res.headers.get("cache-control"), file).toMatch(/max-age=86400/);
    }
  });

  it("serves nothing else from the package", async () => {
    for (const file of ["console.html", "package.json", "README.md", "../package.json"]) {
      expect((await fetch(`${srv.url}/pyodide/${file}`)).status, file).toBe(404);
    }
  });
});
