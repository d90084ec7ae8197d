// Exercises in real Chromium against the real server: a Python exercise runs
// in real Pyodide served by our server, fails, passes, is sent to the tutor
// (the fake model's request holds the code and results) and the course shows
// it passed; a JavaScript endless loop is stopped while the page stays
// responsive; no request leaves our origin. Screenshots of the card.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Page, Request } from "playwright-core";
import { behave, startFakeLlm, type FakeLlm } from "@tutor/testkit";
import { askInPage, lastUserText, signInInPage, signUpInPage, titleOrYes } from "./flows.js";
import { chromiumAvailable, closeBrowsers, ensureWebBuilt, launchBrowser, openPage, screenshot, startServerProcess, type Browser, type ServerProcess } from "./harness.js";

const BIG = "tutor-big";
const FAST = "tutor-fast";
const T = "```";

const PY_CHAPTER = [
  "Here is our plan.",
  `${T}outline\n1. Defining functions — write and call one\n2. Parameters — pass values in\n3. Return values — get results out\n${T}`,
  "## Chapter 1: Defining functions",
  "A function is a named piece of code. Write `add` so that it returns the sum of its two arguments.",
  `${T}python exercise\ndef add(a, b):\n    # return the sum of a and b\n    pass\n${T}`,
  `${T}python tests\nassert add(2, 3) == 5, "add(2, 3) should be 5"\nassert add(0, 0) == 0, "add(0, 0) should be 0"\nassert add(-1, 1) == 0, "add(-1, 1) should be 0"\n${T}`,
  "Run the tests and send me the results.",
].join("\n\n");

const JS_CHAPTER = [
  "## Chapter 2: Parameters",
  "Write `total` so that it adds the numbers from 1 to n.",
  `${T}javascript exercise\nfunction total(n) {\n  let sum = 0;\n  for (let i = 1; i <= n; i++) sum += i;\n  return sum;\n}\n${T}`,
  `${T}javascript tests\nassert(total(3) === 6, "total(3) should be 6")\nassert(total(0) === 0, "total(0) should be 0")\n${T}`,
].join("\n\n");

const available = chromiumAvailable();
const eventually = <T>(fn: () => T | Promise<T>, timeout = 30_000) => expect.poll(fn, { timeout, interval: 100 });

describe.skipIf(!available)("exercises in Chromium", () => {
  let llm: FakeLlm;
  let server: ServerProcess;
  const browsers: Browser[] = [];
  const pageErrors: string[] = [];
  const foreign: string[] = [];
  const ours: string[] = [];
  const username = `grace_${Date.now().toString(36)}`;
  /** The course conversation's address (/c/<id>), opened directly by the later tests. */
  let convPath = "";

  const open = async (viewport?: { width: number; height: number }): Promise<Page> => {
    const browser = await launchBrowser(viewport);
    browsers.push(browser);
    // Every request of the page and its workers: nothing may leave our origin.
    browser.context.on("request", (r: Request) => {
      const u = new URL(r.url());
      if (u.origin === new URL(server.url).origin || u.protocol === "data:" || u.protocol === "blob:") ours.push(u.pathname);
      else foreign.push(r.url());
    });
    return openPage(browser, server.url, pageErrors, { voices: false });
  };

  /** Replaces the code in a card's editor the way a student's paste does (no auto-indent on top). */
  const setCode = async (page: Page, card: ReturnType<Page["locator"]>, code: string) => {
    await card.locator(".cm-content").click();
    await page.keyboard.press("ControlOrMeta+a");
    await page.keyboard.press("Delete");
    await page.keyboard.insertText(code);
  };

  beforeAll(async () => {
    ensureWebBuilt();
    llm = await startFakeLlm({ models: [BIG, FAST] });
    llm.setDefault(FAST, titleOrYes("Python functions"));
    llm.setDefault(
      BIG,
      behave.compute((req) => {
        const q = lastUserText(req);
        if (q.startsWith("**Exercise")) return /all \d+ tests passed/.test(q) ? "Well done: every test passes." : "Close! Look at the operator on line 2.";
        if (/chapter 2/i.test(q)) return JS_CHAPTER;
        return PY_CHAPTER;
      }),
    );
    server = await startServerProcess({ llmUrl: llm.url, models: [BIG, FAST], fastModel: FAST });
  });

  afterEach(async (ctx) => {
    await closeBrowsers(browsers, ctx, "failed-exercise");
    expect(pageErrors.splice(0)).toEqual([]);
  });

  afterAll(async () => {
    await closeBrowsers(browsers);
    await server?.stop();
    await llm?.close();
  });

  it("runs a Python exercise in Pyodide failing then passing, sends it, and the course shows it passed", async () => {
    const page = await open();
    await signUpInPage(page, username);
    await askInPage(page, "Teach me Python functions");

    const card = page.locator(".exercise-card").first();
    await card.locator(".cm-content").waitFor({ timeout: 30_000 });
    expect(await card.getByRole("button", { name: "Send to tutor" }).isDisabled()).toBe(true);
    // The course: three chapters, the first current; the sidebar says so too.
    await eventually(() => page.locator(".course-chapter").count()).toBe(3);
    await eventually(() => page.locator(".course-chapter.chapter-current").textContent()).toContain("Defining functions");
    await eventually(() => page.locator(".course-badge").first().textContent()).toBe("Ch 1/3");
    await card.scrollIntoViewIfNeeded();
    await screenshot(page, "exercise-1-before-run");
    await eventually(() => new URL(page.url()).pathname).toMatch(/^\/c\/./);
    convPath = new URL(page.url()).pathname;

    await setCode(page, card, 'def add(a, b):\n    print("adding", a, b)\n    return a - b\n');
    expect(ours.some((p) => p.startsWith("/pyodide/"))).toBe(false); // nothing of Python is loaded before the first run
    await card.getByRole("button", { name: "Run tests" }).click();
    await eventually(() => card.locator(".exercise-status").textContent(), 60_000).toMatch(/1 of 3 tests passed/);
    expect(await card.locator(".exercise-test.test-fail").count()).toBe(2);
    expect(await card.locator(".exercise-test.test-fail").first().textContent()).toContain("add(2, 3) should be 5");
    expect(await card.locator(".exercise-test").first().textContent()).toContain("adding 2 3");
    expect(ours).toContain("/pyodide/pyodide.asm.wasm");
    await screenshot(page, "exercise-2-failing");

    await setCode(page, card, "def add(a, b):\n    return a + b\n");
    await card.getByRole("button", { name: "Run tests" }).click();
    await eventually(() => card.locator(".exercise-status").textContent()).toMatch(/3 of 3 tests passed/);
    expect(await card.locator(".exercise-test.test-pass").count()).toBe(3);
    await screenshot(page, "exercise-3-passing");
    await page.emulateMedia({ colorScheme: "dark" });
    await screenshot(page, "exercise-3-passing-dark");
    await page.emulateMedia({ colorScheme: "light" });

    const before = llm.requests.length;
    await card.getByRole("button", { name: "Send to tutor" }).click();
    await eventually(() => llm.requests.slice(before).some((r) => r.model === BIG)).toBe(true);
    const sent = lastUserText(llm.requests.slice(before).find((r) => r.model === BIG)!);
    expect(sent).toMatch(/^\*\*Exercise 1 \(Python\), attempt 1: all 3 tests passed\.\*\*/);
    expect(sent).toContain("return a + b");
    expect(sent).toContain('PASS test line 1: assert add(2, 3) == 5, "add(2, 3) should be 5"');
    await eventually(() => page.locator(".course-exercises").textContent()).toBe("Exercises passed: 1/1");
    await page.getByRole("list", { name: "Messages" }).getByText("Well done: every test passes.").waitFor();

    // The code is kept across a reload.
    await page.reload();
    await page.locator(".exercise-card .cm-content").first().waitFor({ timeout: 30_000 });
    expect(await page.locator(".exercise-card .cm-content").first().textContent()).toContain("return a + b");
    expect(foreign).toEqual([]);
  });

  it("stops a JavaScript endless loop after the time limit while the page stays responsive", async () => {
    const page = await open();
    await signInInPage(page, username);
    await page.getByLabel("Your question").waitFor();
    await page.goto(server.url + convPath);
    await page.locator(".course-chapter").nth(1).click(); // asks the tutor for chapter 2
    const card = page.locator(".exercise-card", { hasText: "JavaScript" }).last();
    await card.locator(".cm-content").waitFor({ timeout: 30_000 });
    expect(lastUserText(llm.requests.filter((r) => r.model === BIG).at(-1)!)).toMatch(/chapter 2: Parameters/);

    await setCode(page, card, "function total(n) {\n  while (true) {}\n}\n");
    await card.getByRole("button", { name: "Run tests" }).click();
    // While the loop spins in its worker, the page answers and the composer types.
    const box = page.getByLabel("Your question");
    await box.fill("still typing");
    expect(await box.inputValue()).toBe("still typing");
    const t0 = Date.now();
    expect(await page.evaluate(() => 6 * 7)).toBe(42);
    expect(Date.now() - t0).toBeLessThan(2_000);
    await card.locator(".exercise-stopped").waitFor({ timeout: 15_000 });
    expect(await card.locator(".exercise-stopped").textContent()).toMatch(/Stopped after 5 s/);
    await card.scrollIntoViewIfNeeded();
    await screenshot(page, "exercise-4-timeout");

    // The runner was made again: the fixed code runs.
    await setCode(page, card, "function total(n) {\n  let s = 0;\n  for (let i = 1; i <= n; i++) s += i;\n  return s;\n}\n");
    await card.getByRole("button", { name: "Run tests" }).click();
    await eventually(() => card.locator(".exercise-status").textContent()).toMatch(/2 of 2 tests passed/);
    expect(foreign).toEqual([]);
  });

  it("fits a 375 px wide screen", async () => {
    const page = await open({ width: 375, height: 800 });
    await signInInPage(page, username);
    await page.getByLabel("Your question").waitFor();
    await page.goto(server.url + convPath);
    const card = page.locator(".exercise-card").last();
    await card.locator(".cm-content").waitFor({ timeout: 30_000 });
    await card.getByRole("button", { name: "Run tests" }).click();
    await eventually(() => card.locator(".exercise-status").textContent()).toMatch(/tests passed/);
    await card.scrollIntoViewIfNeeded();
    await screenshot(page, "exercise-5-narrow-375");
    // Nothing but scrolling containers may stick out past the screen's right edge.
    const wide = await page.evaluate(`[...document.querySelectorAll("body *")]
      .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1 && !e.closest(".overflow-x-auto,.overflow-auto,.cm-scroller,.sr-only"))
      .map((e) => e.tagName + "." + String(e.className).slice(0, 60)).slice(0, 5)`);
    expect(wide).toEqual([]);
  });
});
