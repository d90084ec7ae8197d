// Sign-in limits with the real parts (argon2id, SQLite, the server over real
// sockets): failed logins counted before the password is checked, one auth
// request in flight per connection, registrations per address, argon2 behind
// a semaphore, and TRUST_PROXY deciding which address the limits see.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { AuthError, AuthService, Limits, MemoryLimiter, silentLogger, type PasswordHasher, type Store } from "@tutor/core";
import { createStore } from "@tutor/store";
import { argon2Hasher } from "./hasher.js";
import { loadJwtSecret } from "./secrets.js";
import { WsClient, startTestServer, type TestServer } from "./test-helpers.js";

/** The real argon2 hasher, counting how many passwords it actually checked. */
function countingHasher(): PasswordHasher & { verified: number; running: number; peak: number } {
  const h = {
    verified: 0,
    running: 0,
    peak: 0,
    hash: (p: string) => argon2Hasher.hash(p),
    async verify(stored: string, p: string) {
      h.verified++;
      h.running++;
      h.peak = Math.max(h.peak, h.running);
      try {
        return await argon2Hasher.verify(stored, p);
      } finally {
        h.running--;
      }
    },
  };
  return h;
}

const errorType = async (p: Promise<unknown>) =>
  p.then(
    () => "ok",
    (e: unknown) => (e instanceof AuthError ? e.errorType : `threw ${String(e)}`),
  );

describe("AuthService with the limits", () => {
  let dir: string;
  let store: Store;
  let secret: Uint8Array;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "tutor-login-limits-"));
    store = await createStore({ dataDir: dir });
    secret = await loadJwtSecret(undefined, dir);
  });
  afterAll(async () => {
    await store?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("checks at most 5 of 36 parallel wrong passwords, refuses the rest, and then the right one too", async () => {
    const hasher = countingHasher();
    const auth = new AuthService({ store, hasher, secret, logger: silentLogger, hashConcurrency: 0 });
    await auth.register({ username: "racer", password: "the right password" }, "10.0.0.1");
    const results = await Promise.all(
      Array.from({ length: 36 }, () => errorType(auth.login({ username: "racer", password: "a wrong password" }, "10.0.0.9"))),
    );
    expect(hasher.verified).toBe(5);
    expect(results.filter((r) => r === "invalid_credentials")).toHaveLength(5);
    expect(results.filter((r) => r === "rate_limited")).toHaveLength(31);
    expect(await errorType(auth.login({ username: "racer", password: "the right password" }, "10.0.0.9"))).toBe("rate_limited");
    expect(hasher.verified).toBe(5);
    // A classmate signing in to their own account from the same address is not locked out.
    await auth.register({ username: "classmate", password: "classmate password" }, "10.0.0.1");
    expect(await errorType(auth.login({ username: "classmate", password: "classmate password" }, "10.0.0.9"))).toBe("ok");
  });

  it("caps one account over every address, and one address over every account", async () => {
    const limits = new Limits(new MemoryLimiter(), { failedLoginsPerAccount: 8, failedLoginsPerAddress: 12 });
    const auth = new AuthService({ store, hasher: argon2Hasher, secret, logger: silentLogger, limits });
    await auth.register({ username: "target", password: "target password" });
    // Distributed guessing: 4 addresses x 2 tries reach the account cap of 8 ...
    for (let a = 0; a < 4; a++) {
      for (let i = 0; i < 2; i++) expect(await errorType(auth.login({ username: "target", password: "guess" }, `10.1.0.${a}`))).toBe("invalid_credentials");
    }
    // ... so a fresh address is refused for this account, before any password check.
    const refused = await auth.login({ username: "target", password: "target password" }, "10.1.0.99").catch((e: unknown) => e as AuthError);
    expect(refused).toMatchObject({ errorType: "rate_limited", limit: "failed_logins" });
    expect((refused as AuthError).retryAfterSeconds).toBeGreaterThan(800);

    // Password spraying: one address, many accounts, one try each.
    for (let i = 0; i < 12; i++) expect(await errorType(auth.login({ username: `nobody${i}`, password: "Summer2026!" }, "10.2.0.1"))).toBe("invalid_credentials");
    expect(await errorType(auth.login({ username: "nobody99", password: "Summer2026!" }, "10.2.0.1"))).toBe("rate_limited");
  });

  it("counts registrations per address", async () => {
    const limits = new Limits(new MemoryLimiter(), { registrationsPerAddressPerHour: 3 });
    const auth = new AuthService({ store, hasher: argon2Hasher, secret, logger: silentLogger, limits });
    for (let i = 0; i < 3; i++) await auth.register({ username: `reg_${i}`, password: "a long password" }, "10.3.0.1");
    expect(await errorType(auth.register({ username: "reg_x", password: "a long password" }, "10.3.0.1"))).toBe("rate_limited");
    expect(await errorType(auth.register({ username: "reg_y", password: "a long password" }, "10.3.0.2"))).toBe("ok");
  });

  it("runs argon2 behind a semaphore: a flood queues, and past the queue it is refused at once", async () => {
    const hasher = countingHasher();
    const limits = new Limits(new MemoryLimiter(), { failedLoginsPerAddress: 1000, failedLoginsPerAccount: 1000 });
    const auth = new AuthService({ store, hasher, secret, logger: silentLogger, limits, hashConcurrency: 1, hashQueue: 4 });
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => errorType(auth.login({ username: `flood${i}`, password: "whatever" }, `10.4.0.${i}`))),
    );
    expect(hasher.peak).toBe(1);
    // One running and four waiting were checked; the other five were told the server is busy.
    expect(results.filter((r) => r === "invalid_credentials")).toHaveLength(5);
    expect(results.filter((r) => r === "rate_limited")).toHaveLength(5);
  });
});

describe("the server's sign-in limits", () => {
  let plain: TestServer;
  let proxied: TestServer;
  beforeAll(async () => {
    [plain, proxied] = await Promise.all([startTestServer(), startTestServer({ env: { TRUST_PROXY: "127.0.0.1" } })]);
  });
  afterAll(async () => {
    await plain?.close();
    await proxied?.close();
  });

  const register = async (srv: TestServer, username: string) => {
    const res = await fetch(`${srv.url}/api/auth/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username, password: "the right password" }),
    });
    expect(res.status).toBe(201);
  };
  const login = (srv: TestServer, username: string, password: string, forwardedFor?: string) =>
    fetch(`${srv.url}/api/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(forwardedFor ? { "x-forwarded-for": forwardedFor } : {}) },
      body: JSON.stringify({ username, password }),
    });

  it("answers one auth request at a time per connection", async () => {
    await register(plain, "inflight");
    const c = await WsClient.connect(plain.wsUrl);
    try {
      const first = c.request({ type: "auth_request", data: { type: "login", username: "inflight", password: "the right password" } }, "auth_response");
      const second = c.request({ type: "auth_request", data: { type: "login", username: "inflight", password: "the right password" } }, "auth_response");
      const [a, b] = await Promise.all([first, second]);
      expect(a).toMatchObject({ success: true });
      expect(b).toMatchObject({ success: false, error_type: "rate_limited", retry_after_s: 1 });
    } finally {
      await c.close();
    }
  });

  it("over the WebSocket: parallel wrong logins are refused as rate_limited with retry_after_s", async () => {
    await register(plain, "wsracer");
    const clients = await Promise.all(Array.from({ length: 12 }, () => WsClient.connect(plain.wsUrl)));
    try {
      const replies = await Promise.all(
        clients.map((c) => c.request({ type: "auth_request", data: { type: "login", username: "wsracer", password: "wrong wrong" } }, "auth_response")),
      );
      expect(replies.filter((r) => r.error_type === "invalid_credentials")).toHaveLength(5);
      const limited = replies.filter((r) => r.error_type === "rate_limited");
      expect(limited).toHaveLength(7);
      expect(limited[0]!.retry_after_s).toBeGreaterThan(800);
      const right = await clients[0]!.request({ type: "auth_request", data: { type: "login", username: "wsracer", password: "the right password" } }, "auth_response");
      expect(right).toMatchObject({ success: false, error_type: "rate_limited" });
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  });

  it("without TRUST_PROXY ignores X-Forwarded-For: the socket address is locked for the account", async () => {
    await register(plain, "noproxy");
    for (let i = 0; i < 5; i++) expect((await login(plain, "noproxy", "wrong wrong", `10.7.0.${i}`)).status).toBe(401);
    const res = await login(plain, "noproxy", "the right password", "10.7.0.200");
    expect(res.status).toBe(429);
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(800);
    expect(((await res.json()) as { error: { retry_after_s: number } }).error.retry_after_s).toBeGreaterThan(800);
  });

  it("with TRUST_PROXY sees each student's address behind the proxy: one student's failures do not lock out another", async () => {
    await register(proxied, "shared");
    for (let i = 0; i < 5; i++) expect((await login(proxied, "shared", "wrong wrong", "10.8.0.1")).status).toBe(401);
    expect((await login(proxied, "shared", "the right password", "10.8.0.1")).status).toBe(429);
    // The same account from another address behind the proxy still signs in.
    expect((await login(proxied, "shared", "the right password", "10.8.0.2")).status).toBe(200);
  });

  it("with TRUST_PROXY, the WebSocket's limits see the forwarded address too", async () => {
    await register(proxied, "wsproxy");
    const connect = async (ip: string) => {
      const ws = new WebSocket(proxied.wsUrl, { headers: { "x-forwarded-for": ip } });
      await new Promise<void>((resolve, reject) => {
        ws.once("open", () => resolve());
        ws.once("error", reject);
      });
      return ws;
    };
    const reply = async (ws: WebSocket, password: string) => {
      const got = new Promise<Record<string, unknown>>((resolve) => ws.once("message", (d) => resolve(JSON.parse(String(d)) as Record<string, unknown>)));
      ws.send(JSON.stringify({ type: "auth_request", data: { type: "login", username: "wsproxy", password } }));
      return got;
    };
    const a = await connect("10.9.0.1");
    const b = await connect("10.9.0.2");
    try {
      for (let i = 0; i < 5; i++) expect(await reply(a, "wrong wrong")).toMatchObject({ error_type: "invalid_credentials" });
      expect(await reply(a, "the right password")).toMatchObject({ error_type: "rate_limited" });
      expect(await reply(b, "the right password")).toMatchObject({ success: true });
    } finally {
      a.close();
      b.close();
    }
  });
});
