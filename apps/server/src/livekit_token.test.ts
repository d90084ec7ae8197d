// POST /api/livekit/token where no LiveKit server answers: not configured is
// a plain not_found pointing at the WebSocket, configured but down is a 503
// the client can fall back on. (With a real LiveKit server: apps/agent.)
import { createServer } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "./test-helpers.js";

async function register(srv: TestServer): Promise<string> {
  const r = await fetch(`${srv.url}/api/auth/register`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: `lktoken${process.pid}_${Math.random().toString(36).slice(2, 8)}`, password: "correct horse battery" }),
  });
  return ((await r.json()) as { token: string }).token;
}

const post = (srv: TestServer, bearer?: string) =>
  fetch(`${srv.url}/api/livekit/token`, { method: "POST", headers: bearer ? { authorization: `Bearer ${bearer}` } : {} });

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

describe("POST /api/livekit/token without LiveKit configured", () => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startTestServer();
  });
  afterAll(async () => {
    await srv?.close();
  });

  it("asks for sign-in first", async () => {
    const r = await post(srv);
    expect(r.status).toBe(401);
    expect(((await r.json()) as { error: { code: string } }).error.code).toBe("unauthenticated");
  });

  it("says LiveKit is not configured and points at the WebSocket", async () => {
    const r = await post(srv, await register(srv));
    expect(r.status).toBe(404);
    const body = (await r.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("not_found");
    expect(body.error.message).toMatch(/LIVEKIT_URL/);
    expect(body.error.message).toMatch(/\/ws/);
    const config = (await (await fetch(`${srv.url}/api/config`)).json()) as { livekit: { enabled: boolean } };
    expect(config.livekit.enabled).toBe(false);
  });
});

describe("POST /api/livekit/token with the LiveKit server down", () => {
  let srv: TestServer;
  beforeAll(async () => {
    const port = await closedPort();
    srv = await startTestServer({ env: { LIVEKIT_URL: `ws://127.0.0.1:${port}`, LIVEKIT_API_KEY: "devkey", LIVEKIT_API_SECRET: "secret" } });
  });
  afterAll(async () => {
    await srv?.close();
  });

  it("answers 503 with a message the client can show, and hands out no token", async () => {
    const r = await post(srv, await register(srv));
    expect(r.status).toBe(503);
    const body = (await r.json()) as { error: { code: string; message: string }; token?: string };
    expect(body.error.message).toMatch(/LiveKit/);
    expect(body.token).toBeUndefined();
  });

  it("lets the page reach the LiveKit server (CSP connect-src has its ws:// and http:// origins)", async () => {
    const page = await fetch(`${srv.url}/`, { headers: { accept: "text/html" } });
    const csp = page.headers.get("content-security-policy") ?? "";
    const origin = new URL(srv.server.ctx.config.livekit!.url).host;
    expect(csp).toMatch(new RegExp(`connect-src [^;]*ws://${origin}`));
    expect(csp).toMatch(new RegExp(`connect-src [^;]*http://${origin}`));
  });
});
