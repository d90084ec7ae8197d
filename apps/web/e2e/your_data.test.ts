// "Your conversations, your data" in real Chromium against the real server
// process: conversation addresses (deep link, reload, back/forward, a link
// opened signed out, not found), search as you type, export downloads, the
// account screen (password change, account deletion) and an axe-core check
// of those screens, light and dark.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Page } from "playwright-core";
import { behave, startFakeLlm, type FakeLlm, type FakeRequest } from "@tutor/testkit";
import { chromiumAvailable, ensureWebBuilt, launchBrowser, newPage, screenshot, startServerProcess, type Browser, type ServerProcess } from "./harness.js";

const BIG = "tutor-big";
const FAST = "tutor-fast";
const PASSWORD = "correct horse battery";

const available = chromiumAvailable();
const eventually = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 20_000, interval: 100 });

function lastUserText(req: FakeRequest): string {
  return [...req.messages].reverse().find((m) => m.role === "user")?.content ?? "";
}

/** The fake model answers each question with a sentence naming its topic, so searches find answers too. */
function answerFor(question: string): string {
  if (/recursion/i.test(question)) return "Recursion means a function calls itself; the base case stops it.\n\n```python\ndef f(n):\n    return 1 if n <= 1 else n * f(n - 1)\n```";
  if (/queue/i.test(question)) return "A queue is first in, first out: like a line at the canteen.";
  if (/hash/i.test(question)) return "A hash table maps keys to buckets with a hash function.";
  return "Computers follow instructions, one step at a time.";
}

describe.skipIf(!available)("your conversations, your data (Chromium)", () => {
  let llm: FakeLlm;
  let server: ServerProcess;
  const browsers: Browser[] = [];
  const pageErrors: string[] = [];
  let seq = 0;

  const api = async <T>(path: string, init: { method?: string; token?: string; body?: unknown } = {}): Promise<{ status: number; body: T; text: string }> => {
    const res = await fetch(`${server.url}${path}`, {
      method: init.method ?? "GET",
      headers: {
        ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
        ...(init.body !== undefined ? { "content-type": "application/json" } : {}),
      },
      ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    });
    const text = await res.text();
    let body: T;
    try {
      body = JSON.parse(text) as T;
    } catch {
      body = text as T;
    }
    return { status: res.status, body, text };
  };

  /** A new account over REST; returns its name and token. */
  const account = async (): Promise<{ username: string; token: string }> => {
    const username = `stu_${Date.now().toString(36)}_${++seq}`;
    const r = await api<{ token: string }>("/api/auth/register", { method: "POST", body: { username, password: PASSWORD } });
    expect(r.status).toBe(201);
    return { username, token: r.body.token };
  };

  /** A Q&A conversation with one answered question, made over REST (SSE). */
  const conversation = async (token: string, question: string): Promise<string> => {
    const created = await api<{ conversation: { id: string } }>("/api/conversations", { method: "POST", token, body: { teaching_mode: "qa" } });
    const id = created.body.conversation.id;
    const turn = await api<string>(`/api/conversations/${id}/messages`, { method: "POST", token, body: { text: question, speak: false } });
    expect(turn.text).toContain("event: ai_response");
    return id;
  };

  /** A page signed in with `token` (as if the student had signed in before), at `path`. */
  const openAs = async (token: string | null, path = "/", opts: { viewport?: { width: number; height: number } } = {}): Promise<Page> => {
    const browser = await launchBrowser(opts.viewport);
    browsers.push(browser);
    const page = await newPage(browser);
    page.on("pageerror", (err) => pageErrors.push(err.message));
    if (token) await page.addInitScript(`localStorage.setItem("tutor.session", JSON.stringify({ token: ${JSON.stringify(token)} }));`);
    await page.goto(`${server.url}${path}`);
    return page;
  };

  beforeAll(async () => {
    ensureWebBuilt();
    llm = await startFakeLlm({ models: [BIG, FAST] });
    llm.setDefault(FAST, behave.compute((req) => ((req.messages[0]?.content ?? "").startsWith("You write titles") ? lastUserText(req).slice(0, 30) : "YES")));
    llm.setDefault(BIG, behave.compute((req) => answerFor(lastUserText(req))));
    server = await startServerProcess({ llmUrl: llm.url, models: [BIG, FAST], fastModel: FAST });
  });

  afterEach(async (ctx) => {
    if (ctx.task.result?.state === "fail") {
      for (const [i, b] of browsers.entries()) {
        for (const [j, p] of b.context.pages().entries()) await screenshot(p, `failed-data-${ctx.task.name.slice(0, 30).replace(/\W+/g, "-")}-${i}-${j}`).catch(() => {});
      }
    }
    for (const b of browsers.splice(0)) await b.close().catch(() => {});
    expect(pageErrors.splice(0)).toEqual([]);
  });

  afterAll(async () => {
    for (const b of browsers) await b.close().catch(() => {});
    await server?.stop();
    await llm?.close();
  });

  describe("addresses", () => {
    it("opens a deep link, returns there on reload, and moves between conversations with back and forward", async () => {
      const { token } = await account();
      const first = await conversation(token, "What is recursion?");
      const second = await conversation(token, "What is a queue?");
      const page = await openAs(token, `/c/${first}`);
      await eventually(() => page.locator(".message-user").first().textContent()).toContain("What is recursion?");
      expect(new URL(page.url()).pathname).toBe(`/c/${first}`);

      await page.reload();
      await eventually(() => page.locator(".message-user").first().textContent()).toContain("What is recursion?");
      expect(new URL(page.url()).pathname).toBe(`/c/${first}`);

      // Picking another conversation in the list changes the address.
      await page.getByRole("button", { name: /What is a queue/ }).first().click();
      await eventually(() => new URL(page.url()).pathname).toBe(`/c/${second}`);
      await eventually(() => page.locator(".message-user").first().textContent()).toContain("What is a queue?");

      await page.goBack();
      await eventually(() => new URL(page.url()).pathname).toBe(`/c/${first}`);
      await eventually(() => page.locator(".message-user").first().textContent()).toContain("What is recursion?");
      await page.goForward();
      await eventually(() => new URL(page.url()).pathname).toBe(`/c/${second}`);
      await eventually(() => page.locator(".message-user").first().textContent()).toContain("What is a queue?");
    });

    it("lands on a link opened signed out once the student signs in", async () => {
      const { username, token } = await account();
      await conversation(token, "What is a queue?");
      const target = await conversation(token, "What is a hash table?");
      const page = await openAs(null, `/c/${target}`);
      await page.getByLabel("Username").fill(username);
      await page.getByLabel("Password").fill(PASSWORD);
      await page.locator("form").getByRole("button", { name: "Sign in" }).click();
      await eventually(() => page.locator(".message-user").first().textContent()).toContain("What is a hash table?");
      expect(new URL(page.url()).pathname).toBe(`/c/${target}`);
    });

    it("shows a clear not-found page for an unknown or another student's conversation, with a way on", async () => {
      const other = await account();
      const foreign = await conversation(other.token, "What is recursion?");
      const { token } = await account();
      for (const id of ["no-such-conversation", foreign]) {
        const page = await openAs(token, `/c/${id}`);
        await page.getByRole("heading", { name: "Conversation not found" }).waitFor();
        expect(await page.getByText("What is recursion?").count()).toBe(0);
        if (id === foreign) {
          await screenshot(page, "data-not-found");
          await page.emulateMedia({ colorScheme: "dark" });
          await screenshot(page, "data-not-found-dark");
          await page.emulateMedia({ colorScheme: "light" });
        }
        await page.getByRole("button", { name: "Start a new conversation" }).click();
        await eventually(() => new URL(page.url()).pathname).toMatch(/^\/c\/(?!no-such|foreign)/);
        expect(new URL(page.url()).pathname).not.toBe(`/c/${id}`);
        await eventually(() => page.getByRole("heading", { name: "Conversation not found" }).count()).toBe(0);
      }
      const narrow = await openAs(token, "/c/no-such-conversation", { viewport: { width: 375, height: 740 } });
      await narrow.getByRole("heading", { name: "Conversation not found" }).waitFor();
      await screenshot(narrow, "data-not-found-375");
    });
  });
});
