// The account over REST (bearer token): download a conversation or the whole
// account, import a download, change the password, delete the account.
import { MAX_IMPORT_BYTES, PASSWORD_MIN } from "@tutor/protocol";
import { savedSession, type AppHub } from "./hub.js";
import type { Connection } from "./connection.js";

type Outcome = { ok: true; message?: string } | { ok: false; error: string };

async function errorOf(res: Response, fallback: string): Promise<string> {
  try {
    const body = (await res.json()) as { error?: { message?: string; error_type?: string } };
    if (body.error?.error_type === "invalid_credentials") return "That password is not right.";
    if (res.status === 413) return "That file is too large to import.";
    return body.error?.message ? `${fallback} ${body.error.message}` : fallback;
  } catch {
    return fallback;
  }
}

export class Account {
  constructor(
    private readonly hub: AppHub,
    private readonly connection: Connection,
  ) {}

  #headers(json: boolean): Record<string, string> {
    const token = savedSession()?.token;
    return { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(json ? { "content-type": "application/json" } : {}) };
  }

  /** Fetches a download and hands it to the browser as a file. */
  async download(path: string, fallbackName: string): Promise<Outcome> {
    try {
      const res = await this.hub.fetchImpl(path, { headers: this.#headers(false) });
      if (!res.ok) return { ok: false, error: await errorOf(res, "The download failed.") };
      const name = /filename="([^"]+)"/.exec(res.headers.get("content-disposition") ?? "")?.[1] ?? fallbackName;
      const url = URL.createObjectURL(await res.blob());
      const a = document.createElement("a");
      a.href = url;
      a.download = name;
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      return { ok: true };
    } catch {
      return { ok: false, error: "Not connected to the server. Try again." };
    }
  }

  exportConversation(id: string): Promise<Outcome> {
    return this.download(`/api/conversations/${encodeURIComponent(id)}/export?format=md`, "conversation.md");
  }

  exportAccount(): Promise<Outcome> {
    return this.download("/api/export", "cs-tutor.json");
  }

  async importFile(file: File): Promise<Outcome> {
    if (file.size > MAX_IMPORT_BYTES) return { ok: false, error: `That file is over ${MAX_IMPORT_BYTES / 1024 / 1024} MB; it cannot be imported.` };
    try {
      const res = await this.hub.fetchImpl("/api/import", { method: "POST", headers: this.#headers(true), body: await file.text() });
      if (res.status !== 201) {
        const error = res.status === 400 ? "That file is not a CS Tutor download (or is from another version)." : await errorOf(res, "The import failed.");
        return { ok: false, error };
      }
      const body = (await res.json()) as { imported: number };
      return { ok: true, message: `Imported ${body.imported} conversation${body.imported === 1 ? "" : "s"}.` };
    } catch {
      return { ok: false, error: "Not connected to the server. Try again." };
    }
  }

  async changePassword(current: string, next: string): Promise<Outcome> {
    if (!current) return { ok: false, error: "Enter your current password." };
    if (next.length < PASSWORD_MIN) return { ok: false, error: `Use at least ${PASSWORD_MIN} characters for the new password.` };
    try {
      const res = await this.hub.fetchImpl("/api/auth/password", {
        method: "POST",
        headers: this.#headers(true),
        body: JSON.stringify({ current_password: current, new_password: next }),
      });
      if (!res.ok) return { ok: false, error: await errorOf(res, "The password was not changed.") };
      return { ok: true, message: "Password changed. You were signed out everywhere else." };
    } catch {
      return { ok: false, error: "Not connected to the server. Try again." };
    }
  }

  async deleteAccount(password: string): Promise<Outcome> {
    if (!password) return { ok: false, error: "Enter your password to confirm." };
    try {
      const res = await this.hub.fetchImpl("/api/auth/me", { method: "DELETE", headers: this.#headers(true), body: JSON.stringify({ password }) });
      if (res.status !== 204) return { ok: false, error: await errorOf(res, "The account was not deleted.") };
    } catch {
      return { ok: false, error: "Not connected to the server. Try again." };
    }
    await this.connection.signOut();
    this.hub.notify("info", "Your account and all of its conversations were deleted.");
    return { ok: true };
  }
}
