// The student's whole journey in real Chromium against the real server
// process, with the local fake OpenAI-compatible server as the model.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Page } from "playwright-core";
import { behave, startFakeLlm, type FakeLlm } from "@tutor/testkit";
import { askInPage, isTitleRequest, lastUserText, PASSWORD, signInInPage, signUpInPage } from "./flows.js";
import {
  chromiumAvailable,
  closeBrowsers,
  ensureWebBuilt,
  launchBrowser,
  openPage,
  screenshot,
  spoken,
  startServerProcess,
  streamEndedAt,
  streamTexts,
  type Browser,
  type ServerProcess,
} from "./harness.js";

const BIG = "tutor-big";
const FAST = "tutor-fast";

const RECURSION_ANSWER = [
  "## Recursion",
  "",
  "Recursion is when a function calls itself to solve a smaller piece of the same problem. " +
    "Every recursive function needs a [EXPLAIN]base case[/EXPLAIN] that stops the calls.",
  "",
  "| part | job |",
  "| --- | --- |",
  "| base case | stops the recursion |",
  "| recursive case | shrinks the problem |",
  "",
  "```python",
  "def factorial(n):",
  "    return 1 if n <= 1 else n * factorial(n - 1)",
  "```",
  "",
  "Try tracing factorial of three by hand. That is the whole idea.",
].join("\n");

const BASE_CASE_ANSWER =
  "A base case is the input a recursive function answers directly, without calling itself again. " +
  "For factorial it is n <= 1. Without it the calls never stop.";

const available = chromiumAvailable();

/** Waits for a condition; generous because CI machines are slow and busy. */
const eventually = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 20_000, interval: 100 });

describe.skipIf(!available)("the student's flow in Chromium", () => {
  let llm: FakeLlm;
  let server: ServerProcess;
  const browsers: Browser[] = [];
  const pageErrors: string[] = [];

  const open = async (opts: { voices?: boolean; viewport?: { width: number; height: number } } = {}) => {
    const browser = await launchBrowser(opts.viewport);
    browsers.push(browser);
    return openPage(browser, server.url, pageErrors, { voices: opts.voices ?? true });
  };

  const signUp = async (page: Page, username: string) => {
    await signUpInPage(page, username);
    await page.getByLabel("Your question").waitFor();
  };

  beforeAll(async () => {
    ensureWebBuilt();
    llm = await startFakeLlm({ models: [BIG, FAST] });
    llm.setDefault(
      FAST,
      behave.compute((req) => {
        if (isTitleRequest(req)) return "Recursion basics";
        return /pizza|football|recipe/i.test(lastUserText(req)) ? "NO" : "YES";
      }),
    );
    llm.setDefault(
      BIG,
      behave.compute((req) => {
        const q = lastUserText(req);
        if (/"base case"/.test(q)) return behave.reply(BASE_CASE_ANSWER, { chunkDelayMs: 25 });
        if (/slowly/.test(q)) return behave.reply(RECURSION_ANSWER, { chunkDelayMs: 120 });
        return behave.reply(RECURSION_ANSWER, { chunkDelayMs: 45 });
      }),
    );
    server = await startServerProcess({ llmUrl: llm.url, models: [BIG, FAST], fastModel: FAST });
  });

  afterEach(async (ctx) => {
    await closeBrowsers(browsers, ctx);
    // An uncaught exception in the page is a bug even when the flow got through.
    expect(pageErrors.splice(0)).toEqual([]);
  });

  afterAll(async () => {
    await closeBrowsers(browsers);
    await server?.stop();
    await llm?.close();
  });

  it("signs up, asks, hears, explains, renames, reloads, deletes, signs out and in again", async () => {
    const page = await open();
    const username = `ada_${Date.now().toString(36)}`;
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    await screenshot(page, "01-sign-in");

    // sign up
    await signUp(page, username);
    await eventually(() => page.getByText(`Signed in as`).count()).toBe(1);

    // ask in Q&A
    await page.getByRole("button", { name: "Q&A", exact: true }).click();
    await eventually(() => page.getByRole("button", { name: "Q&A", exact: true }).getAttribute("aria-pressed")).toBe("true");
    await screenshot(page, "02-empty-qa");
    await askInPage(page, "What is recursion in programming?");
    await page.locator(".message-user", { hasText: "What is recursion in programming?" }).waitFor();

    // the answer streams in: several renders before the end
    await page.locator(".message-streaming").waitFor();
    await page.waitForFunction(() => ((window as unknown as { __streamTexts: string[] }).__streamTexts.length >= 3));
    await screenshot(page, "03-streaming");
    const finalAnswer = page.locator(".message-ai:not(.message-streaming)", { hasText: "That is the whole idea." });
    await finalAnswer.waitFor({ timeout: 30_000 });
    const texts = await streamTexts(page);
    // Rendered text may shrink for a moment (a table row becomes a table), but it grows overall.
    expect(texts.length).toBeGreaterThanOrEqual(3);
    expect(texts.at(-1)!.length).toBeGreaterThan(texts[0]!.length);
    expect(texts.slice(0, -1).every((t) => !t.includes("That is the whole idea."))).toBe(true);

    // rendered Markdown: heading, table, highlighted code with copy, EXPLAIN chip
    await eventually(() => finalAnswer.getByRole("heading", { name: "Recursion" }).count()).toBe(1);
    expect(await finalAnswer.getByRole("table").count()).toBe(1);
    expect(await finalAnswer.locator("pre code .hljs-keyword").first().textContent()).toBe("def");
    expect(await finalAnswer.getByRole("button", { name: "Copy code" }).count()).toBe(1);
    expect(await finalAnswer.textContent()).not.toContain("[EXPLAIN]");
    await screenshot(page, "04-answer");
    await page.emulateMedia({ colorScheme: "dark" });
    await screenshot(page, "04-answer-dark");
    await page.emulateMedia({ colorScheme: "light" });

    // speech: sentences spoken in order, starting before the answer finished, never code or marks
    await eventually(async () => (await spoken(page)).map((s) => s.text).join(" ")).toContain("That is the whole idea.");
    const said = await spoken(page);
    const joined = said.map((s) => s.text).join(" ");
    const order = ["Recursion is when a function calls itself", "needs a base case that stops the calls", "That is the whole idea."];
    const positions = order.map((p) => joined.indexOf(p));
    expect(positions.every((p) => p >= 0)).toBe(true);
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
    expect(joined).not.toContain("[EXPLAIN]");
    expect(joined).not.toContain("def factorial");
    expect(said.length).toBeGreaterThanOrEqual(3);
    const ended = await streamEndedAt(page);
    expect(ended).not.toBeNull();
    expect(said[0]!.at).toBeLessThan(ended!);
    expect(said[0]!.voice).toBe("Test English");

    // EXPLAIN chip: a hidden instruction; its answer appears, no student bubble is added
    const before = llm.calls(BIG);
    await finalAnswer.getByRole("button", { name: "Explain base case" }).click();
    const explanation = page.locator(".message-ai:not(.message-streaming)", { hasText: "Without it the calls never stop." });
    await explanation.waitFor({ timeout: 30_000 });
    expect(llm.calls(BIG)).toBe(before + 1);
    const explainReq = llm.requests.filter((r) => r.model === BIG).at(-1)!;
    expect(lastUserText(explainReq)).toContain('"base case"');
    expect(await page.locator(".message-user").count()).toBe(1);

    // the title comes from the fast model; rename it in place
    const current = page.locator("[data-conversation][aria-current=page]");
    await eventually(() => current.textContent()).toContain("Recursion basics");
    await page.getByRole("button", { name: "Rename “Recursion basics”" }).click();
    const title = page.getByRole("textbox", { name: /New title for/ });
    await title.fill("My recursion notes");
    await title.press("Enter");
    await eventually(() => current.textContent()).toContain("My recursion notes");
    await eventually(() => page.getByRole("heading", { level: 1 }).textContent()).toBe("My recursion notes");

    // reload: the conversation, its messages and the mode are still there
    await page.reload();
    await page.getByRole("heading", { level: 1, name: "My recursion notes" }).waitFor({ timeout: 20_000 });
    expect(await page.getByRole("button", { name: "Q&A", exact: true }).getAttribute("aria-pressed")).toBe("true");
    expect(await page.locator(".message-user").allTextContents()).toEqual([expect.stringContaining("What is recursion in programming?")]);
    await eventually(() => page.locator(".message-ai").count()).toBe(2);
    expect(await page.locator(".message-ai").first().textContent()).toContain("That is the whole idea.");
    expect(await page.locator("[data-conversation]").count()).toBe(1);
    await screenshot(page, "05-after-reload");

    // delete with confirmation
    await page.getByRole("button", { name: "Delete “My recursion notes”" }).click();
    const dialog = page.getByRole("alertdialog", { name: "Delete this conversation?" });
    await screenshot(page, "06-delete-confirm");
    await dialog.getByRole("button", { name: "Delete" }).click();
    // The server keeps one (empty) conversation to show instead.
    await eventually(() => page.getByText("My recursion notes").count()).toBe(0);
    await eventually(() => page.getByRole("heading", { level: 1 }).textContent()).toBe("New conversation");
    expect(await page.locator(".message").count()).toBe(0);
    expect(await page.locator("[data-conversation]").allTextContents()).toEqual([expect.stringContaining("No messages yet")]);

    // sign out, sign in again
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    expect(await page.evaluate(() => localStorage.getItem("tutor.session"))).toBeNull();
    await signInInPage(page, username);
    await page.getByLabel("Your question").waitFor();
    await page.locator("[data-conversation]").first().waitFor();
    expect(await page.getByText("My recursion notes").count()).toBe(0);
    expect(await page.locator(".message").count()).toBe(0);
  });

  it("shows the errors for a wrong password, a taken username and a weak password", async () => {
    const username = `grace_${Date.now().toString(36)}`;
    const res = await fetch(`${server.url}/api/auth/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username, password: PASSWORD }),
    });
    expect(res.status).toBeLessThan(300);
    const page = await open();
    await signInInPage(page, username, "not the password");
    const alert = page.getByRole("alert").filter({ hasText: "Wrong username or password." });
    await alert.waitFor();
    expect(await page.getByLabel("Your question").count()).toBe(0);
    await screenshot(page, "07-wrong-password");

    await signUpInPage(page, username, "short");
    await page.getByText("Use at least 8 characters.").waitFor();
    expect(await page.getByLabel("Password").getAttribute("aria-invalid")).toBe("true");
    await page.getByLabel("Password").fill(PASSWORD);
    await page.locator("form").getByRole("button", { name: "Create account" }).click();
    await page.getByText("That username is taken. Try another.").waitFor();
    expect(await page.evaluate(() => document.activeElement?.getAttribute("autocomplete"))).toBe("username");
    await page.getByRole("button", { name: "Sign in" }).first().click();

    // the right password still works afterwards
    await signInInPage(page, username);
    await page.getByLabel("Your question").waitFor();
  });

  it("shows an off-topic refusal distinctly, refuses an over-long paste and works without voices", async () => {
    const page = await open({ voices: false });
    await signUp(page, `alan_${Date.now().toString(36)}`);

    const toggle = page.getByRole("button", { name: "Speak answers" });
    await eventually(() => toggle.isDisabled()).toBe(true);
    expect(await toggle.getAttribute("title")).toContain("No speech voices");

    const before = llm.calls(BIG);
    await askInPage(page, "What is the best pizza topping?");
    const refusal = page.locator(".answer-refusal");
    await refusal.waitFor({ timeout: 20_000 });
    expect(await refusal.textContent()).toContain("Outside computing topics");
    expect(await refusal.textContent()).toContain("I'm your computer science tutor");
    expect(llm.calls(BIG)).toBe(before);
    expect(await spoken(page)).toEqual([]);
    await screenshot(page, "08-refusal");

    const box = page.getByLabel("Your question");
    await box.fill("x".repeat(50_001));
    await page.getByRole("alert").filter({ hasText: "over the 50,000-character limit" }).waitFor();
    await box.press("Enter");
    await page.getByRole("alert").filter({ hasText: "Your message is 50,001 characters; the limit is 50,000" }).waitFor();
    expect(await page.locator(".message-user").count()).toBe(1);
    expect(await box.inputValue()).toHaveLength(50_001);
    await screenshot(page, "09-too-long");
  });

  it("stops speaking and the answer at once with Stop", async () => {
    const page = await open();
    await signUp(page, `linus_${Date.now().toString(36)}`);
    await askInPage(page, "Explain recursion slowly please");
    await page.locator(".message-streaming").waitFor();
    await eventually(async () => (await spoken(page)).length).toBeGreaterThan(0);
    await page.getByRole("button", { name: "Stop", exact: true }).click();
    const stopped = page.locator(".message-ai:not(.message-streaming)", { hasText: "Stopped" });
    await stopped.waitFor({ timeout: 15_000 });
    const spokenAtStop = (await spoken(page)).length;
    expect(await page.evaluate(() => (window as unknown as { __speech: { cancels: number[] } }).__speech.cancels.length)).toBeGreaterThan(0);
    await page.waitForTimeout(1500);
    expect((await spoken(page)).length).toBe(spokenAtStop);
    expect(await stopped.textContent()).not.toContain("That is the whole idea.");
    expect(await page.getByText("Speaking…").count()).toBe(0);
  });

  it("reconnects after a server restart and keeps the conversation", async () => {
    const page = await open();
    await signUp(page, `barbara_${Date.now().toString(36)}`);
    await askInPage(page, "What is recursion in programming?");
    await page.locator(".message-ai:not(.message-streaming)", { hasText: "That is the whole idea." }).waitFor({ timeout: 30_000 });

    await server.stop();
    const banner = page.getByText(/Connection to the tutor lost/);
    await banner.waitFor({ timeout: 15_000 });
    expect(await page.getByLabel("Your question").isDisabled()).toBe(true);
    await screenshot(page, "10-reconnecting");

    await server.restart();
    await banner.waitFor({ state: "detached", timeout: 30_000 });
    await eventually(() => page.getByLabel("Your question").isEnabled()).toBe(true);
    expect(await page.locator(".message-ai").count()).toBe(1);
    // the session was verified again: a new question goes through
    await askInPage(page, "And what is a stack overflow in recursion?");
    await eventually(() => page.locator(".message-ai:not(.message-streaming)").count()).toBe(2);
  });

  it("is usable at 375 px width", async () => {
    const page = await open({ viewport: { width: 375, height: 760 } });
    await signUp(page, `mobile_${Date.now().toString(36)}`);
    await askInPage(page, "What is recursion in programming?");
    await page.locator(".message-ai:not(.message-streaming)", { hasText: "That is the whole idea." }).waitFor({ timeout: 30_000 });
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
    // The view followed the answer to its end.
    const lastLineVisible = () =>
      page.evaluate(() => {
        const scroller = document.querySelector("#chat-scroll")!.getBoundingClientRect();
        const answer = document.querySelector("li.message-ai:last-of-type .markdown > :last-child")!.getBoundingClientRect();
        return answer.bottom <= scroller.bottom + 1 && answer.top >= scroller.top;
      });
    await eventually(lastLineVisible).toBe(true);
    await screenshot(page, "11-mobile-chat");
    await page.getByRole("button", { name: "Conversations" }).click();
    const row = page.locator("[data-conversation]").first();
    await row.waitFor();
    await screenshot(page, "12-mobile-drawer");
    await page.keyboard.press("Escape");
    await eventually(() => row.isVisible()).toBe(false);
  });
});
