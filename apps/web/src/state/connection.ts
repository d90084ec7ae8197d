// Connection and auth: the server's public config, verifying the stored token
// after every (re)connect, sign-in / sign-up / sign-out, and what a signed-in
// connection reloads (the list, the open conversation).
import { PASSWORD_MIN, PublicConfig, USERNAME_RE } from "@tutor/protocol";
import type { AuthErrorType, PublicUser, ServerMessage, SessionEndReason } from "@tutor/protocol";
import { RequestError } from "../protocol/transport.js";
import { errorText } from "./errors.js";
import { savedSession, saveSession, type AppHub } from "./hub.js";
import type { Conversations } from "./conversations.js";
import type { Turns } from "./turns.js";
import type { Speaking } from "./speaking.js";

export type AuthField = "username" | "password" | "email" | "form";
export type AuthResult =
  | { ok: true }
  | { ok: false; field: AuthField; error: string; errorType?: AuthErrorType; /** rate_limited: seconds until it may be tried again. */ retryAfterS?: number };

/** Client-side checks before a sign-up is sent, matching the server's rules. */
export function validateRegistration(username: string, password: string, email: string): AuthResult {
  if (!USERNAME_RE.test(username)) {
    return { ok: false, field: "username", error: "Use 3-32 letters, digits, '_', '.' or '-'." };
  }
  if (password.length < PASSWORD_MIN) {
    return { ok: false, field: "password", error: `Use at least ${PASSWORD_MIN} characters.` };
  }
  if (email && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) {
    return { ok: false, field: "email", error: "That does not look like an email address." };
  }
  return { ok: true };
}

function authFailure(errorType: AuthErrorType | undefined, error: string | undefined, action: string, retryAfterS?: number): AuthResult {
  switch (errorType) {
    case "username_taken":
      return { ok: false, field: "username", error: "That username is taken. Try another.", errorType };
    case "email_taken":
      return { ok: false, field: "email", error: "An account already uses that email.", errorType };
    case "invalid_credentials":
      return { ok: false, field: "form", error: "Wrong username or password.", errorType };
    case "rate_limited":
      // With the wait the server named, the sign-in screen counts it down.
      if (retryAfterS !== undefined) {
        const what = action === "create the account" ? "Too many accounts were created from this network." : "Too many sign-in attempts.";
        return { ok: false, field: "form", error: what, errorType, retryAfterS: Math.max(1, retryAfterS) };
      }
      return { ok: false, field: "form", error: "Too many attempts. Wait a minute and try again.", errorType };
    case "validation": {
      const field: AuthField = /password/i.test(error ?? "") ? "password" : /email/i.test(error ?? "") ? "email" : /username/i.test(error ?? "") ? "username" : "form";
      return { ok: false, field, error: error ?? "Please check the form.", errorType };
    }
    default:
      return { ok: false, field: "form", error: error ?? `Could not ${action}. Try again.`, ...(errorType ? { errorType } : {}) };
  }
}

const SESSION_ENDED_TEXT: Record<SessionEndReason, string> = {
  logout: "You were signed out (from another tab or device). Please sign in again.",
  expired: "Your session has expired. Please sign in again.",
  revoked: "You were signed out on the server (for example, the password was changed). Please sign in again.",
};

/** How often /api/config is asked again while the server's own model is downloading or loading. */
export const LOCAL_MODEL_POLL_MS = 5_000;

export class Connection {
  private verifying = false;
  /** The in-process model's last state seen in /api/config (notices only on a change). */
  private localState: string | undefined;
  private localPoll: ReturnType<typeof setTimeout> | undefined;
  /** Tests shorten the wait between /api/config polls. */
  localPollMs = LOCAL_MODEL_POLL_MS;

  constructor(
    private readonly hub: AppHub,
    private readonly conversations: Conversations,
    private readonly turns: Turns,
    private readonly speaking: Speaking,
  ) {
    if (!savedSession()) hub.dispatch({ type: "auth/signed_out" });
  }

  async loadConfig(): Promise<void> {
    const { hub } = this;
    try {
      const res = await hub.fetchImpl("/api/config", { headers: { accept: "application/json" } });
      if (!res.ok) return;
      const parsed = PublicConfig.safeParse(await res.json());
      if (parsed.success) {
        hub.dispatch({ type: "config", config: parsed.data });
        this.speaking.voice.configure(parsed.data);
        // The server speaks (speech_audio frames): speech works even where the browser has no voices.
        hub.speech.setServerVoice(parsed.data.tts.provider === "openai");
        if (!parsed.data.llm.configured) {
          hub.notify("info", parsed.data.llm.message ?? "No language model is configured on the server yet.");
        }
        this.watchLocalModel(parsed.data.llm.local);
      }
    } catch {
      // Defaults stand in for the config; the next reconnect tries again.
    }
  }

  /**
   * The server's own model (LOCAL_MODEL): say once that it is being prepared
   * (with its progress), once that it is ready or what is wrong, and ask again
   * while it is on its way.
   */
  private watchLocalModel(local: PublicConfig["llm"]["local"]): void {
    if (!local) return;
    const previous = this.localState;
    this.localState = local.state;
    if (local.state !== previous) {
      if (local.state === "failed" && local.message) this.hub.notify("error", local.message);
      else if (local.state === "ready" && previous) this.hub.notify("info", "The tutor's model is ready.");
      else if (local.state !== "ready" && local.message) this.hub.notify("info", `${local.message} — the tutor answers once it is ready.`);
    }
    clearTimeout(this.localPoll);
    if (local.state === "downloading" || local.state === "loading") {
      this.localPoll = setTimeout(() => void this.loadConfig(), this.localPollMs);
    }
  }

  /** Every `open` of the carrier: verify the stored token before anything else. */
  async onConnected(): Promise<void> {
    const { hub } = this;
    if (!hub.state().config) void this.loadConfig();
    const session = savedSession();
    if (!session) {
      if (hub.state().auth.status !== "signed_out") hub.dispatch({ type: "auth/signed_out" });
      return;
    }
    if (this.verifying) return;
    this.verifying = true;
    const resumed = hub.state().auth.status === "signed_in";
    if (!resumed) hub.dispatch({ type: "auth/checking" });
    try {
      const res = await hub.client.request({ type: "auth_request", data: { type: "verify", token: session.token } });
      if (res.type === "auth_response" && res.success && res.user) {
        await this.signedIn(res.user, resumed);
      } else {
        saveSession(null);
        hub.dispatch({ type: "auth/signed_out" });
        if (resumed || res.type !== "auth_response" || res.error_type === "token_expired") {
          hub.notify("info", "Your session has ended. Please sign in again.");
        }
      }
    } catch (err) {
      // Connection lost while verifying: the next `open` verifies again.
      if (err instanceof RequestError && err.code === "rate_limited") {
        hub.notify("error", errorText(err.code));
      }
    } finally {
      this.verifying = false;
    }
  }

  private async signedIn(user: PublicUser, resumed: boolean): Promise<void> {
    const { hub } = this;
    if (!resumed) hub.dispatch({ type: "auth/signed_in", user });
    hub.dispatch({ type: "ready", ready: true });
    void this.conversations.loadList(true);
    if (resumed) {
      const current = this.turns.resume();
      if (current) await this.conversations.fetch(current);
      return;
    }
    await this.conversations.openLast();
  }

  /** A server `error` that was nobody's reply. */
  handleError(msg: Extract<ServerMessage, { type: "error" }>, awaited: boolean): void {
    const { hub } = this;
    hub.dispatch({ type: "server", message: msg });
    if (awaited) return;
    // A wait the server named is shown as a countdown (limits.ts), not as a notice.
    if (msg.code === "rate_limited" && msg.retry_after_s !== undefined) return;
    if (msg.code === "unauthenticated" && hub.state().auth.status === "signed_in") {
      // The server forgot us (token revoked elsewhere): verify again.
      hub.dispatch({ type: "ready", ready: false });
      void this.onConnected();
    }
    hub.notify("error", errorText(msg.code, msg.message));
  }

  /** The server ended this sign-in (logout elsewhere, expiry, revocation): back to the sign-in screen, saying why. */
  handleSessionEnded(msg: Extract<ServerMessage, { type: "session_ended" }>): void {
    const { hub } = this;
    this.speaking.stop();
    saveSession(null);
    hub.dispatch({ type: "auth/signed_out" });
    hub.notify("info", SESSION_ENDED_TEXT[msg.reason]);
  }

  async signIn(username: string, password: string): Promise<AuthResult> {
    if (!username || !password) return { ok: false, field: username ? "password" : "username", error: "Required." };
    return this.authenticate({ type: "login", username, password }, "sign in");
  }

  async register(username: string, password: string, email: string): Promise<AuthResult> {
    const check = validateRegistration(username, password, email);
    if (!check.ok) return check;
    return this.authenticate(
      email ? { type: "register", username, password, email } : { type: "register", username, password },
      "create the account",
    );
  }

  private async authenticate(
    data:
      | { type: "login"; username: string; password: string }
      | { type: "register"; username: string; password: string; email?: string },
    action: string,
  ): Promise<AuthResult> {
    let res: ServerMessage;
    try {
      res = await this.hub.client.request({ type: "auth_request", data });
    } catch (err) {
      const code = err instanceof RequestError ? err.code : "internal";
      if (code === "rate_limited") return authFailure("rate_limited", undefined, action);
      return { ok: false, field: "form", error: errorText(code, err instanceof Error ? err.message : undefined) };
    }
    if (res.type !== "auth_response") return { ok: false, field: "form", error: `Could not ${action}. Try again.` };
    if (!res.success || !res.token || !res.user) return authFailure(res.error_type, res.error, action, res.retry_after_s);
    saveSession({ token: res.token, ...(res.expires_at ? { expires_at: res.expires_at } : {}) });
    await this.signedIn(res.user, false);
    return { ok: true };
  }

  async signOut(): Promise<void> {
    const { hub } = this;
    this.speaking.stop();
    const wasReady = hub.state().ready;
    saveSession(null);
    hub.dispatch({ type: "auth/signed_out" });
    if (wasReady) {
      try {
        await hub.client.request({ type: "auth_request", data: { type: "logout" } }, 5000);
      } catch {
        // The token is gone from this browser either way.
      }
    }
  }
}
