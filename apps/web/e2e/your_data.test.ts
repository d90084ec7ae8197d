// "Your conversations, your data" in real Chromium against the real server
// process: conversation addresses (deep link, reload, back/forward, a link
// opened signed out, not found), search as you type, export downloads, the
// account screen (password change, account deletion) and an axe-core check
// of those screens, light and dark.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Locator, Page } from "playwright-core";
import { behave, startFakeLlm, type FakeLlm } from "@tutor/testkit";
import { readFileSync } from "node:fs";
import { lastUserText, PASSWORD, restAccount, restCall, signInInPage, titleOrYes } from "./flows.js";
import { axeViolations, chromiumAvailable, closeBrowsers, ensureWebBuilt, launchBrowser, openPage, screenshot, startServerProcess, type Browser, type ServerProcess } from "./harness.js";

const BIG = "tutor-big";
const FAST = "tutor-fast";

const available = chromiumAvailable();
const eventually = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 20_000, interval: 100 });

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
  const api = <T>(path: string, init: Parameters<typeof restCall>[2] = {}) => restCall<T>(server.url, path, init);
  const account = () => restAccount(server.url);

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
    const browser = await launchBrowser(opts.viewport, [], { bypassCSP: true });
    browsers.push(browser);
    return openPage(browser, `${server.url}${path}`, pageErrors, { token });
  };

  beforeAll(async () => {
    ensureWebBuilt();
    llm = await startFakeLlm({ models: [BIG, FAST] });
    llm.setDefault(FAST, titleOrYes((req) => lastUserText(req).slice(0, 30)));
    llm.setDefault(BIG, behave.compute((req) => answerFor(lastUserText(req))));
    server = await startServerProcess({ llmUrl: llm.url, models: [BIG, FAST], fastModel: FAST });
  });

  afterEach(async (ctx) => {
    await closeBrowsers(browsers, ctx, "failed-data");
    expect(pageErrors.splice(0)).toEqual([]);
  });

  afterAll(async () => {
    await closeBrowsers(browsers);
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
      await signInInPage(page, username);
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
        // The address moves on to the fresh conversation (the foreign id is an id too: wait for a different one).
        await eventually(() => new URL(page.url()).pathname).not.toBe(`/c/${id}`);
        expect(new URL(page.url()).pathname).toMatch(/^\/c\/[0-9a-f-]+$/);
        await eventually(() => page.getByRole("heading", { name: "Conversation not found" }).count()).toBe(0);
      }
      const narrow = await openAs(token, "/c/no-such-conversation", { viewport: { width: 375, height: 740 } });
      await narrow.getByRole("heading", { name: "Conversation not found" }).waitFor();
      await screenshot(narrow, "data-not-found-375");
    });
  });

  /** Whether an input's placeholder fits its text area (no clipped hint). */
  const placeholderFits = (box: Locator) =>
    box.evaluate((el) => {
      const input = el as unknown as { clientWidth: number; placeholder: string };
      const style = getComputedStyle(el);
      const ctx = document.createElement("canvas").getContext("2d")!;
      ctx.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
      // type=search reserves room for its clear button (about one line height) at the end.
      const room = input.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight) - parseFloat(style.fontSize);
      return ctx.measureText(input.placeholder).width <= room;
    });

  /** Serious and critical axe findings, light and dark. */
  const accessible = async (page: Page, what: string) => {
    for (const scheme of ["light", "dark"] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      expect(await axeViolations(page), `${what} (${scheme})`).toEqual([]);
    }
    await page.emulateMedia({ colorScheme: "light" });
  };

  describe("search", () => {
    it("finds questions and answers as the student types and opens the conversation at the message", async () => {
      const { token } = await account();
      await conversation(token, "What is recursion?");
      const queue = await conversation(token, "What is a queue?");
      await conversation(token, "What is a hash table?");
      const page = await openAs(token, "/");
      await page.getByLabel("Your question").waitFor();
      await page.locator("#chat-title").click();
      await page.keyboard.press("/");
      const box = page.getByLabel("Search your conversations");
      // The empty box's hint (with its shortcut) is read whole, not cut off.
      expect(await placeholderFits(box)).toBe(true);
      await eventually(() => box.evaluate((el) => el === document.activeElement)).toBe(true);
      await box.pressSequentially("canteen fir", { delay: 40 });
      const results = page.getByRole("list", { name: "Search results" });
      await eventually(() => results.locator("li").count()).toBe(1);
      expect(await results.locator("mark").allTextContents()).toEqual(["first", "first", "canteen"]);
      expect(await results.textContent()).toContain("What is a queue?");
      await screenshot(page, "data-search");
      await accessible(page, "search");
      await page.emulateMedia({ colorScheme: "dark" });
      await screenshot(page, "data-search-dark");
      await page.emulateMedia({ colorScheme: "light" });
      await box.press("Enter");
      await eventually(() => new URL(page.url()).pathname).toBe(`/c/${queue}`);
      await eventually(() => page.locator("li.message-found").count()).toBe(1);
      expect(await page.locator("li.message-found").textContent()).toContain("first in, first out");

      // A hostile query is words, not syntax; one with no word says so.
      await page.keyboard.press("Control+k");
      await box.fill('recursion* -base "');
      await eventually(() => results.locator("li").count()).toBe(1);
      await box.fill('"*-%');
      await eventually(() => page.locator("#search-status").textContent()).toContain("Type a word");
      await accessible(page, "chat");

      const narrow = await openAs(token, "/", { viewport: { width: 375, height: 740 } });
      await narrow.getByRole("button", { name: "Conversations" }).click();
      expect(await placeholderFits(narrow.getByLabel("Search your conversations"))).toBe(true);
      await narrow.getByLabel("Search your conversations").fill("hash");
      await eventually(() => narrow.getByRole("list", { name: "Search results" }).locator("li").count()).toBe(2);
      await screenshot(narrow, "data-search-375");
      // At 375 px the drawer's footer shows the whole name, clear of the Account button.
      const name = narrow.getByTestId("signed-in-as");
      expect(await name.evaluate((el) => el.scrollWidth <= el.clientWidth)).toBe(true);
      const [nameBox, accountBox] = [await name.boundingBox(), await narrow.getByRole("button", { name: "Account", exact: true }).boundingBox()];
      expect(nameBox!.y + nameBox!.height <= accountBox!.y || nameBox!.x + nameBox!.width + 8 <= accountBox!.x).toBe(true);
    });
  });

  describe("export", () => {
    it("downloads a conversation as Markdown and the whole account as JSON", async () => {
      const { token } = await account();
      const id = await conversation(token, "What is recursion?");
      const page = await openAs(token, `/c/${id}`);
      await eventually(() => page.locator(".message-ai").count()).toBe(1);
      const [md] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Export as Markdown" }).click()]);
      expect(md.suggestedFilename()).toMatch(/\.md$/);
      const text = readFileSync((await md.path())!, "utf8");
      expect(text).toContain("What is recursion?");
      expect(text).toContain("```python");
      await page.getByRole("button", { name: "Account" }).click();
      const [json] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Download my data" }).click()]);
      const doc = JSON.parse(readFileSync((await json.path())!, "utf8")) as { version: number; conversations: unknown[] };
      expect(doc.version).toBe(1);
      expect(doc.conversations).toHaveLength(1);
    });
  });

  describe("account", () => {
    it("changes the password (the other sign-in ends) and deletes the account after a confirmation", async () => {
      const { username, token } = await account();
      await conversation(token, "What is a queue?");
      const page = await openAs(token, "/");
      await page.getByLabel("Your question").waitFor();
      const elsewhere = await openAs((await api<{ token: string }>("/api/auth/login", { method: "POST", body: { username, password: PASSWORD } })).body.token, "/");
      await elsewhere.getByLabel("Your question").waitFor();

      await page.getByRole("button", { name: "Account" }).click();
      const dialog = page.getByRole("dialog", { name: "Your account" });
      await dialog.waitFor();
      await accessible(page, "account");
      await screenshot(page, "data-account");
      await page.emulateMedia({ colorScheme: "dark" });
      await screenshot(page, "data-account-dark");
      await page.emulateMedia({ colorScheme: "light" });

      await dialog.getByLabel("Current password").fill("not my password");
      await dialog.getByLabel("New password").fill("a brand new password");
      await dialog.getByRole("button", { name: "Change password" }).click();
      await eventually(() => dialog.getByRole("alert").textContent()).toContain("not right");
      await dialog.getByLabel("Current password").fill(PASSWORD);
      await dialog.getByRole("button", { name: "Change password" }).click();
      await eventually(() => dialog.getByRole("status").first().textContent()).toContain("Password changed");
      // The other browser's sign-in ended; this one goes on.
      await elsewhere.getByRole("heading", { name: "Sign in" }).waitFor({ timeout: 20_000 });
      expect(await page.getByLabel("Your question").count()).toBe(1);

      await dialog.getByLabel("Password", { exact: true }).fill("a brand new password");
      await dialog.getByRole("button", { name: "Delete my account" }).click();
      const confirm = page.getByRole("alertdialog", { name: "Delete your account?" });
      await confirm.getByRole("button", { name: "Cancel" }).click();
      expect((await api("/api/auth/me", { token })).status).toBe(200);
      await dialog.getByRole("button", { name: "Delete my account" }).click();
      await confirm.getByRole("button", { name: "Delete everything" }).click();
      await page.getByRole("heading", { name: "Sign in" }).waitFor({ timeout: 20_000 });
      await accessible(page, "sign-in");
      expect((await api("/api/auth/login", { method: "POST", body: { username, password: "a brand new password" } })).status).toBe(401);

      const narrow = await openAs(null, "/", { viewport: { width: 375, height: 740 } });
      const other = await account();
      await narrow.evaluate((t) => (window as unknown as { localStorage: { setItem(k: string, v: string): void } }).localStorage.setItem("tutor.session", JSON.stringify({ token: t })), other.token);
      await narrow.reload();
      await narrow.getByRole("button", { name: "Conversations" }).click();
      await narrow.getByRole("button", { name: "Account" }).click();
      await narrow.getByRole("dialog", { name: "Your account" }).waitFor();
      await screenshot(narrow, "data-account-375");
    });
  });
});
