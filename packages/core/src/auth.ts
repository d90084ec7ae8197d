// Accounts: register, login (throttled), verify, logout. Tokens are HS256
// JWTs with a `jti` kept in the store, so logout revokes them for real.
import { SignJWT, errors as joseErrors, jwtVerify } from "jose";
import { rest, type PublicUser } from "@tutor/protocol";
import { AuthError, ConflictError } from "./errors.js";
import type { EventHub } from "./hub.js";
import { newId } from "./ids.js";
import { MemoryLimiter } from "./limits/limiter.js";
import { Limits } from "./limits/policy.js";
import { Semaphore, SemaphoreFull } from "./limits/semaphore.js";
import { systemClock, type Clock, type Logger, type PasswordHasher, type Store, type UserRecord } from "./ports.js";

export const AUTH_DEFAULTS = {
  tokenTtlSeconds: 24 * 60 * 60,
  /** argon2 hashes running at once (the server sets it from the cores); 0 = unbounded. */
  hashConcurrency: 1,
  /** Sign-ins waiting for a hash slot; past this, `rate_limited` at once (the server is busy). */
  hashQueue: 100,
} as const;

export interface AuthOptions {
  store: Store;
  hasher: PasswordHasher;
  /** HS256 secret, at least 32 bytes. */
  secret: Uint8Array;
  clock?: Clock;
  logger: Logger;
  tokenTtlSeconds?: number;
  /** Failed-login and registration throttles (default: in process, defaults of LIMIT_DEFAULTS). */
  limits?: Limits;
  hashConcurrency?: number;
  hashQueue?: number;
  /** Where a logout is announced, so every connection signed in with that token ends (on every instance). */
  hub?: EventHub | undefined;
}

export interface AuthResult {
  user: PublicUser;
  token: string;
  expires_at: string;
}

export interface VerifiedToken {
  user: PublicUser;
  userId: string;
  jti: string;
  expires_at: string;
}

export function publicUser(u: UserRecord): PublicUser {
  return { id: u.id, username: u.username, email: u.email, created_at: u.created_at, last_login: u.last_login };
}

export class AuthService {
  readonly #o: Required<Omit<AuthOptions, "clock" | "hub" | "limits">> & { clock: Clock; hub: EventHub | undefined };
  readonly #limits: Limits;
  /** argon2 behind a small semaphore: a flood of sign-ins waits instead of taking every core. */
  readonly #hashSlots: Semaphore;
  // Verifying against this keeps a missing user as slow as a wrong password.
  #dummyHash: Promise<string> | undefined;

  constructor(options: AuthOptions) {
    if (options.secret.byteLength < 32) throw new Error("JWT secret must be at least 32 bytes");
    this.#o = { clock: systemClock, ...AUTH_DEFAULTS, ...options, hub: options.hub };
    this.#limits = options.limits ?? new Limits(new MemoryLimiter(this.#o.clock), {}, options.logger);
    this.#hashSlots = new Semaphore(this.#o.hashConcurrency, this.#o.hashQueue);
  }

  async register(input: { username: string; password: string; email?: string | undefined }, address = "unknown"): Promise<AuthResult> {
    const parsed = rest.register.safeParse(input);
    if (!parsed.success) {
      throw new AuthError("register", "validation", parsed.error.issues[0]?.message ?? "invalid registration");
    }
    const { username, password, email } = parsed.data;
    await this.#limits.admitRegistration(address);
    const passwordHash = await this.#hashing("register", () => this.#o.hasher.hash(password));
    let user: UserRecord;
    try {
      user = await this.#o.store.createUser({ username, email: email ? email.toLowerCase() : null, passwordHash });
    } catch (err) {
      if (err instanceof ConflictError) {
        throw err.field === "username"
          ? new AuthError("register", "username_taken", "that username is already taken")
          : new AuthError("register", "email_taken", "that email is already registered");
      }
      throw err;
    }
    this.#o.logger.info({ event: "user_registered", user_id: user.id }, "user registered");
    return this.#issue(user);
  }

  async login(input: { username: string; password: string }, address: string): Promise<AuthResult> {
    const now = this.#o.clock.now();
    // Counted as failed before the password is checked (given back on success),
    // so parallel guesses cannot all slip under the limit.
    const attempt = await this.#limits.beginLogin(input.username, address);
    const user = await this.#o.store.findUserByUsername(input.username);
    const ok = await this.#hashing("login", async () =>
      user
        ? this.#o.hasher.verify(user.password_hash, input.password)
        : (await this.#o.hasher.verify(await this.#dummy(), input.password), false),
    );
    if (!user || !ok) {
      this.#o.logger.info({ event: "login_failed", address }, "login failed");
      throw new AuthError("login", "invalid_credentials", "wrong username or password");
    }
    await attempt.succeeded();
    const lastLogin = new Date(now).toISOString();
    await this.#o.store.setLastLogin(user.id, lastLogin);
    this.#o.logger.info({ event: "login", user_id: user.id }, "user signed in");
    return this.#issue({ ...user, last_login: lastLogin });
  }

  async #hashing<T>(action: "login" | "register", work: () => Promise<T>): Promise<T> {
    try {
      return await this.#hashSlots.run(work);
    } catch (err) {
      if (!(err instanceof SemaphoreFull)) throw err;
      this.#o.logger.warn({ event: "auth_busy", action }, "sign-in queue full");
      throw new AuthError(action, "rate_limited", "the server is busy signing other people in; try again in a few seconds", 2, "auth_busy");
    }
  }

  /** Refuses expired, revoked, tampered and non-HS256 tokens. */
  async verify(token: string): Promise<VerifiedToken> {
    let payload;
    try {
      ({ payload } = await jwtVerify(token, this.#o.secret, {
        algorithms: ["HS256"],
        currentDate: new Date(this.#o.clock.now()),
      }));
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired) throw new AuthError("verify", "token_expired", "your session has expired; please sign in again");
      throw new AuthError("verify", "token_invalid", "invalid session token");
    }
    const { jti, sub } = payload;
    if (typeof jti !== "string" || typeof sub !== "string") {
      throw new AuthError("verify", "token_invalid", "invalid session token");
    }
    const record = await this.#o.store.findToken(jti);
    if (!record || record.user_id !== sub || record.revoked_at !== null) {
      throw new AuthError("verify", "token_invalid", "this session has ended; please sign in again");
    }
    if (Date.parse(record.expires_at) <= this.#o.clock.now()) {
      throw new AuthError("verify", "token_expired", "your session has expired; please sign in again");
    }
    const user = await this.#o.store.findUserById(sub);
    if (!user) throw new AuthError("verify", "token_invalid", "invalid session token");
    return { user: publicUser(user), userId: user.id, jti, expires_at: record.expires_at };
  }

  /** Revokes the token, then ends every connection signed in with it (`session_ended` reason `logout`). */
  async logout(token: { jti: string; userId: string }): Promise<void> {
    await this.#o.store.revokeToken(token.jti, new Date(this.#o.clock.now()).toISOString());
    this.#o.hub?.publish(token.userId, { kind: "session_ended", userId: token.userId, jti: token.jti, reason: "logout" });
  }

  /**
   * Is this sign-in still valid? For carriers that cannot hear the hub of the
   * instance where a logout happened (a LiveKit job process on SQLite): the
   * reason it ended, or undefined while it holds.
   */
  async ended(token: { jti: string; userId: string; expires_at: string }): Promise<"logout" | "expired" | "revoked" | undefined> {
    if (Date.parse(token.expires_at) <= this.#o.clock.now()) return "expired";
    const record = await this.#o.store.findToken(token.jti);
    if (!record || record.user_id !== token.userId) return "revoked";
    return record.revoked_at === null ? undefined : "logout";
  }

  /**
   * Housekeeping: deletes tokens past their expiry (they can sign no one in)
   * and login failures older than the throttling window (they count for
   * nothing). The server runs it on a timer.
   */
  async prune(): Promise<{ tokens: number; loginFailures: number }> {
    const now = this.#o.clock.now();
    const tokens = await this.#o.store.pruneTokens(new Date(now).toISOString());
    const loginFailures = await this.#o.store.pruneLoginFailures(new Date(now - this.#limits.settings.loginWindowMs).toISOString());
    if (tokens || loginFailures) this.#o.logger.info({ event: "pruned", tokens, login_failures: loginFailures }, "pruned expired tokens and old login failures");
    return { tokens, loginFailures };
  }

  /**
   * Changes the password (the current one is required) and revokes every
   * other token of the account; returns the revoked jtis, whose connections
   * the caller ends. A wrong current password changes nothing.
   */
  async changePassword(token: VerifiedToken, input: { current_password: string; new_password: string }): Promise<string[]> {
    const user = await this.#checkPassword(token.userId, input.current_password);
    await this.#o.store.setPasswordHash(user.id, await this.#o.hasher.hash(input.new_password));
    const revoked = await this.#o.store.revokeUserTokens(user.id, new Date(this.#o.clock.now()).toISOString(), token.jti);
    // Every connection signed in with one of them ends (on every instance); this one goes on.
    for (const jti of revoked) this.#o.hub?.publish(user.id, { kind: "session_ended", userId: user.id, jti, reason: "revoked" });
    this.#o.logger.info({ event: "password_changed", user_id: user.id, tokens_revoked: revoked.length }, "password changed");
    return revoked;
  }

  /** Deletes the account and everything of it (password required). */
  async deleteAccount(token: VerifiedToken, password: string): Promise<void> {
    const user = await this.#checkPassword(token.userId, password);
    await this.#o.store.deleteUser(user.id);
    // No jti: every connection of the account ends, this one included.
    this.#o.hub?.publish(user.id, { kind: "session_ended", userId: user.id, reason: "revoked" });
    this.#o.logger.info({ event: "account_deleted", user_id: user.id }, "account deleted");
  }

  async #checkPassword(userId: string, password: string): Promise<UserRecord> {
    const user = await this.#o.store.findUserById(userId);
    if (!user) throw new AuthError("verify", "token_invalid", "this account no longer exists");
    if (!(await this.#o.hasher.verify(user.password_hash, password))) {
      throw new AuthError("login", "invalid_credentials", "the password is wrong");
    }
    return user;
  }

  async #issue(user: UserRecord): Promise<AuthResult> {
    const now = this.#o.clock.now();
    const jti = newId(now);
    const exp = Math.floor(now / 1000) + this.#o.tokenTtlSeconds;
    const expiresAt = new Date(exp * 1000).toISOString();
    const token = await new SignJWT({ username: user.username })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setSubject(user.id)
      .setJti(jti)
      .setIssuedAt(Math.floor(now / 1000))
      .setExpirationTime(exp)
      .sign(this.#o.secret);
    await this.#o.store.insertToken({ jti, userId: user.id, expiresAt });
    return { user: publicUser(user), token, expires_at: expiresAt };
  }

  #dummy(): Promise<string> {
    this.#dummyHash ??= this.#o.hasher.hash("not-a-real-password-" + newId());
    return this.#dummyHash;
  }
}
