// Accounts with the real parts: argon2id, jose, SQLite. Time is moved with the
// Clock port to reach expiry and the throttling window.
import { mkdtemp, rm, stat, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SignJWT, decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuthError, AuthService, silentLogger, type Store } from "@tutor/core";
import { createStore } from "@tutor/store";
import { argon2Hasher } from "./hasher.js";
import { loadJwtSecret } from "./secrets.js";

let dir: string;
let store: Store;
let secret: Uint8Array;
let now = Date.parse("2026-01-01T00:00:00.000Z");
const clock = { now: () => now };
let auth: AuthService;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "tutor-auth-"));
  store = await createStore({ dataDir: dir });
  secret = await loadJwtSecret(undefined, dir);
  auth = new AuthService({ store, hasher: argon2Hasher, secret, clock, logger: silentLogger });
});
afterAll(async () => {
  await store?.close();
  await rm(dir, { recursive: true, force: true });
});

async function expectAuthError(p: Promise<unknown>, errorType: string) {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AuthError);
  expect((err as AuthError).errorType).toBe(errorType);
  return err as AuthError;
}

describe("accounts", () => {
  it("stores an argon2id hash, never the password", async () => {
    const r = await auth.register({ username: "ada", password: "analytical engine" });
    const user = await store.findUserByUsername("ada");
    expect(user!.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(user!.password_hash).not.toContain("analytical");
    expect(r.user).toEqual({ id: user!.id, username: "ada", email: null, created_at: user!.created_at, last_login: null });
  });

  it("validates username, password and email with clear messages", async () => {
    for (const [input, msg] of [
      [{ username: "ab", password: "long enough" }, /username/],
      [{ username: "bad name!", password: "long enough" }, /username/],
      [{ username: "x".repeat(33), password: "long enough" }, /username/],
      [{ username: "okname", password: "short" }, /at least 8/],
      [{ username: "okname", password: "p".repeat(257) }, /at most 256/],
      [{ username: "okname", password: "long enough", email: "not-an-email" }, /email/],
    ] as const) {
      const err = await expectAuthError(auth.register(input), "validation");
      expect(err.message).toMatch(msg);
    }
  });

  it("refuses a taken username (any case) and a taken email", async () => {
    await auth.register({ username: "grace", password: "cobol rules", email: "grace@navy.mil" });
    await expectAuthError(auth.register({ username: "GRACE", password: "cobol rules" }), "username_taken");
    await expectAuthError(auth.register({ username: "grace2", password: "cobol rules", email: "Grace@Navy.mil" }), "email_taken");
  });

  it("logs in, records last_login, and refuses a wrong password or unknown user alike", async () => {
    await auth.register({ username: "linus", password: "just for fun" });
    const r = await auth.login({ username: "Linus", password: "just for fun" }, "10.0.0.1");
    expect(r.user.last_login).toBe(new Date(now).toISOString());
    const wrong = await expectAuthError(auth.login({ username: "linus", password: "nope nope" }, "10.0.0.1"), "invalid_credentials");
    const unknown = await expectAuthError(auth.login({ username: "nobody", password: "nope nope" }, "10.0.0.1"), "invalid_credentials");
    expect(wrong.message).toBe(unknown.message);
  });

  it("throttles after 5 failures for a username+address in 15 minutes, until the window passes", async () => {
    await auth.register({ username: "throttled", password: "right password" });
    for (let i = 0; i < 5; i++) await expectAuthError(auth.login({ username: "throttled", password: "wrong" }, "10.9.9.9"), "invalid_credentials");
    // Even the right password is refused while throttled...
    const err = await expectAuthError(auth.login({ username: "throttled", password: "right password" }, "10.9.9.9"), "rate_limited");
    expect(err.retryAfterSeconds).toBeGreaterThan(800);
    // ...but another address is not affected.
    await auth.login({ username: "throttled", password: "right password" }, "10.1.1.1");
    now += 15 * 60 * 1000 + 1000;
    await auth.login({ username: "throttled", password: "right password" }, "10.9.9.9");
  });

  it("verifies a good token and refuses expired, revoked, tampered and non-HS256 tokens", async () => {
    const r = await auth.register({ username: "tokens", password: "token tester" });
    const v = await auth.verify(r.token);
    expect(v.user.username).toBe("tokens");
    const claims = decodeJwt(r.token);
    expect(claims.exp! - claims.iat!).toBe(24 * 3600);

    const [h, p, s] = r.token.split(".");
    const tamperedPayload = Buffer.from(JSON.stringify({ ...claims, sub: "someone-else" })).toString("base64url");
    await expectAuthError(auth.verify(`${h}.${tamperedPayload}.${s}`), "token_invalid");
    await expectAuthError(auth.verify(`${h}.${p}.${s!.slice(0, -3)}abc`), "token_invalid");

    const none = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString("base64url")}.${p}.`;
    await expectAuthError(auth.verify(none), "token_invalid");
    const hs512 = await new SignJWT(claims).setProtectedHeader({ alg: "HS512" }).sign(secret);
    await expectAuthError(auth.verify(hs512), "token_invalid");
    const otherKey = await new SignJWT(claims).setProtectedHeader({ alg: "HS256" }).sign(new TextEncoder().encode("x".repeat(48)));
    await expectAuthError(auth.verify(otherKey), "token_invalid");

    now += 24 * 3600 * 1000 + 1000;
    await expectAuthError(auth.verify(r.token), "token_expired");
  });

  it("logout revokes the token", async () => {
    const r = await auth.register({ username: "leaver", password: "goodbye all" });
    const v = await auth.verify(r.token);
    await auth.logout(v);
    await expectAuthError(auth.verify(r.token), "token_invalid");
  });

  it("keeps a generated secret in DATA_DIR with mode 0600 and reuses it", async () => {
    const file = join(dir, "jwt-secret");
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const again = await loadJwtSecret(undefined, dir);
    expect(Buffer.from(again).toString()).toBe((await readFile(file, "utf8")).trim());
    expect(Buffer.from(await loadJwtSecret("y".repeat(40), dir)).toString()).toBe("y".repeat(40));
  });
});
