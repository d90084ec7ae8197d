// Issue 7 in real Chromium against the real server process (small limits:
// LIMIT_TURNS_PER_HOUR=2): the student sees when they can go on after a limit
// (the countdown, the paused composer, the budget line, the sign-in throttle),
// access ends in every tab (logout in another tab, a REST logout, a password
// change elsewhere), and a long conversation pages in as the student scrolls up
// without gaps, duplicates or a jump. Screenshots light and dark at 375 px.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Page } from "playwright-core";
import { behave, startFakeLlm, type FakeLlm } from "@tutor/testkit";
import { askInPage as ask, lastUserText, PASSWORD, restAccount, restCall, titleOrYes } from "./flows.js";
import { axeViolations, chromiumAvailable, closeBrowsers, ensureWebBuilt, launchBrowser, newPage, screenshot, startServerProcess, type Browser, type ServerProcess } from "./harness.js";

const BIG = "tutor-big";
const FAST = "tutor-fast";
const PHONE = { width: 375, height: 740 };

const available = chromiumAvailable();
const eventually = <T>(fn: () => T | Promise<T>, timeout = 20_000) => expect.poll(fn, { timeout, interval: 50 });

interface Reading {
  count: number;
  /** The number of the message at the top of the view, and its px below the view's top edge. */
  label: string;
  offset: number;
  /** Where the previous reading's top message is now (px below the top edge). */
  previousNow: number | null;
}

/** Records a Reading at every scroll event and frame of the chat's scroller. */
const READING_RECORDER = `(() => {
  const log = [];
  window.__reading = log;
  const scroller = document.getElementById("chat-scroll");
  const number = (el) => ((el.textContent || "").match(/(Question|Answer) (\\d{3})/) || [])[2] || "?";
  const record = () => {
    const top = scroller.getBoundingClientRect().top;
    const items = [...document.querySelectorAll("ol[aria-label=Messages] > li")];
    const el = items.find((e) => e.getBoundingClientRect().bottom > top + 1);
    if (!el) return;
    const prev = log[log.length - 1];
    const prevEl = prev ? items.find((e) => number(e) === prev.label) : null;
    log.push({
      count: items.length,
      label: number(el),
      offset: Math.round(el.getBoundingClientRect().top - top),
      previousNow: prevEl ? Math.round(prevEl.getBoundingClientRect().top - top) : null,
    });
  };
  scroller.addEventListener("scroll", record);
  const frame = () => { record(); requestAnimationFrame(frame); };
  requestAnimationFrame(frame);
})()`;

describe.skipIf(!available)("access and limits (Chromium)", () => {
  let llm: FakeLlm;
  let server: ServerProcess;
  const browsers: Browser[] = [];
  const pageErrors: string[] = [];
  const api = <T>(path: string, init: Parameters<typeof restCall>[2] = {}) => restCall<T>(server.url, path, init);
  const account = () => restAccount(server.url);

  const browser = async (viewport?: { width: number; height: number }): Promise<Browser> => {
    const b = await launchBrowser(viewport, [], { bypassCSP: true });
    browsers.push(b);
    return b;
  };

  /** A tab of `b` signed in with `token` (as if the student had signed in before), at `path`. */
  const tab = async (b: Browser, token: string | null, path = "/"): Promise<Page> => {
    const page = await newPage(b);
    page.on("pageerror", (err) => pageErrors.push(err.message));
    if (token) await page.addInitScript(`if (!sessionStorage.getItem("seeded")) { sessionStorage.setItem("seeded", "1"); localStorage.setItem("tutor.session", JSON.stringify({ token: ${JSON.stringify(token)} })); }`);
    await page.goto(`${server.url}${path}`);
    return page;
  };

  beforeAll(async () => {
    ensureWebBuilt();
    llm = await startFakeLlm({ models: [BIG, FAST] });
    llm.setDefault(FAST, titleOrYes("Stacks and queues"));
    llm.setDefault(BIG, behave.compute((req) => `About ${lastUserText(req).slice(0, 40)}: a stack is last in, first out.`));
    server = await startServerProcess({ llmUrl: llm.url, models: [BIG, FAST], fastModel: FAST, env: { LIMIT_TURNS_PER_HOUR: "2" } });
  });

  afterEach(async (ctx) => {
    await closeBrowsers(browsers, ctx, "failed-access");
    expect(pageErrors.splice(0)).toEqual([]);
  });

  afterAll(async () => {
    await closeBrowsers(browsers);
    await server?.stop();
    await llm?.close();
  });

  const screenshotBoth = async (page: Page, name: string) => {
    for (const scheme of ["light", "dark"] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      await screenshot(page, `${name}-${scheme}`);
    }
    await page.emulateMedia({ colorScheme: "light" });
  };

  /** Light and dark screenshots of the page as it is, with axe's serious and critical findings. */
  const look = async (page: Page, name: string) => {
    for (const scheme of ["light", "dark"] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      await screenshot(page, `${name}-${scheme}`);
      expect(await axeViolations(page), `${name} (${scheme})`).toEqual([]);
    }
    await page.emulateMedia({ colorScheme: "light" });
  };

  describe("limits", () => {
    it("counts down the wait after the hour's questions, says why the composer will not send, and shows the budget near its end", async () => {
      const { token } = await account();
      const page = await tab(await browser(PHONE), token);
      await ask(page, "What is a stack?");
      await eventually(() => page.locator(".message-ai").count()).toBe(1);
      // One of two questions left: the quiet line says so.
      await eventually(() => page.getByTestId("budget-line").textContent()).toMatch(/^1 question left this hour \(more in (59|60) min\)$/);
      await ask(page, "What is a queue?");
      await eventually(() => page.locator(".message-ai").count()).toBe(2);
      await eventually(() => page.getByTestId("budget-line").textContent()).toMatch(/^No questions left this hour/);
      await screenshotBoth(page, "limits-budget-375");

      await ask(page, "What is a heap?");
      const notice = page.getByTestId("limit-notice");
      await eventually(() => notice.textContent()).toMatch(/^You have asked as many questions as this hour allows\. You can ask again in (59:[0-5]\d|1:00:00)\./);
      await expect.poll(() => page.getByText("Sending is paused until then").isVisible()).toBe(true);
      // The question was not asked; what the student typed next stays, and Send is off.
      expect(await page.locator(".message-user").count()).toBe(2);
      await page.getByLabel("Your question").fill("What is a tree?");
      expect(await page.getByRole("button", { name: "Send" }).isDisabled()).toBe(true);
      // The countdown is live.
      const first = await notice.textContent();
      await eventually(() => notice.textContent(), 3000).not.toBe(first);
      expect(await page.getByTestId("budget-line").count()).toBe(0);
      await look(page, "limits-turns-375");
    });

    it("counts down the sign-in throttle on the sign-in screen", async () => {
      const { username } = await account();
      const page = await tab(await browser(PHONE), null);
      const submit = page.locator("form").getByRole("button", { name: "Sign in" });
      for (let i = 0; i < 5; i++) {
        await page.getByLabel("Username").fill(username);
        await page.getByLabel("Password").fill(`wrong password ${i}`);
        await eventually(() => submit.isEnabled()).toBe(true);
        await submit.click();
        await eventually(() => page.getByRole("alert").first().textContent()).toMatch(/Wrong username or password|Too many/);
      }
      await page.getByLabel("Password").fill(PASSWORD);
      await submit.click();
      await eventually(() => page.locator("form [role=alert]").textContent()).toMatch(/^Too many sign-in attempts\. You can try again in 1[45]:\d\d\./);
      expect(await submit.isDisabled()).toBe(true);
      await look(page, "limits-signin-375");
    });
  });

  describe("access ends in every tab", () => {
    /** Two tabs of one browser, both signed in as the same student with a conversation open. */
    const twoTabs = async () => {
      const { username, token } = await account();
      const b = await browser();
      const a = await tab(b, token);
      await ask(a, "What is a stack?");
      await eventually(() => a.locator(".message-ai").count()).toBe(1);
      await eventually(() => new URL(a.url()).pathname).toMatch(/^\/c\//);
      const other = await tab(b, token, new URL(a.url()).pathname);
      await eventually(() => other.locator(".message-user").first().textContent()).toContain("What is a stack?");
      return { username, token, a, b: other };
    };

    /** The tab shows the sign-in screen with `reason` within 2 s, and nothing of the student is left on it. */
    const endedWithin2s = async (page: Page, username: string, reason: RegExp) => {
      await eventually(() => page.getByRole("heading", { name: "Sign in" }).isVisible(), 2000).toBe(true);
      await eventually(() => page.getByRole("region", { name: "Notifications" }).textContent(), 2000).toMatch(reason);
      const text = (await page.locator("body").textContent()) ?? "";
      expect(text).not.toContain("What is a stack?");
      expect(text).not.toContain(username);
      // The token is forgotten in this browser.
      expect(JSON.parse((await page.evaluate(() => localStorage.getItem("tutor.session"))) ?? "null")).toBeNull();
    };

    it("signing out in one tab signs the other out, saying why", async () => {
      const { username, a, b } = await twoTabs();
      await a.getByRole("button", { name: "Sign out" }).click();
      await endedWithin2s(b, username, /You were signed out \(from another tab or device\)/);
    });

    it("a REST logout elsewhere signs both tabs out", async () => {
      const { username, token, a, b } = await twoTabs();
      expect((await api("/api/auth/logout", { method: "POST", token })).status).toBeLessThan(300);
      await endedWithin2s(a, username, /You were signed out/);
      await endedWithin2s(b, username, /You were signed out/);
    });

    it("a password change on another device signs both tabs out", async () => {
      const { username, a, b } = await twoTabs();
      const elsewhere = await api<{ token: string }>("/api/auth/login", { method: "POST", body: { username, password: PASSWORD } });
      expect(elsewhere.status).toBe(200);
      const changed = await api("/api/auth/password", { method: "POST", token: elsewhere.body.token, body: { current_password: PASSWORD, new_password: "another good password" } });
      expect(changed.status).toBe(200);
      await endedWithin2s(a, username, /You were signed out on the server \(for example, the password was changed\)/);
      await endedWithin2s(b, username, /You were signed out on the server/);
      // What the student says afterwards, elsewhere, reaches neither signed-out tab.
      const fresh = elsewhere.body.token;
      const created = await api<{ conversation: { id: string } }>("/api/conversations", { method: "POST", token: fresh, body: { teaching_mode: "qa" } });
      const turn = await fetch(`${server.url}/api/conversations/${created.body.conversation.id}/messages`, {
        method: "POST",
        headers: { authorization: `Bearer ${fresh}`, "content-type": "application/json" },
        body: JSON.stringify({ text: "What is a linked list?", speak: false }),
      });
      expect(await turn.text()).toContain("event: ai_response");
      await a.waitForTimeout(500);
      for (const page of [a, b]) {
        const text = (await page.locator("body").textContent()) ?? "";
        expect(text).not.toContain("linked list");
        expect(text).not.toContain(username);
      }
    });
  });

  describe("a long conversation", () => {
    /** A 250-message conversation, seeded through the real server (POST /api/import), opened in a tab at its address. */
    const longConversation = async () => {
      const { token } = await account();
      const t0 = Date.parse("2026-11-01T09:00:00.000Z");
      const messages = Array.from({ length: 250 }, (_, i) => ({
        type: i % 2 === 0 ? ("user" as const) : ("ai" as const),
        content:
          i % 2 === 0
            ? `Question ${String(i).padStart(3, "0")}: what about stacks?`
            : `Answer ${String(i).padStart(3, "0")}: a stack is last in, first out.${i % 6 === 1 ? "\n\nA second paragraph makes this one taller, as real answers are." : ""}`,
        timestamp: new Date(t0 + i * 1000).toISOString(),
      }));
      const imported = await api<{ conversation_ids: string[] }>("/api/import", {
        method: "POST",
        token,
        body: {
          version: 1,
          exported_at: new Date().toISOString(),
          conversations: [{ title: "A long course", teaching_mode: "qa", created_at: messages[0]!.timestamp, updated_at: messages.at(-1)!.timestamp, messages }],
        },
      });
      expect(imported.status).toBe(201);
      const page = await tab(await browser(), token, `/c/${imported.body.conversation_ids[0]!}`);
      const labels = () => page.locator("ol[aria-label=Messages] > li").evaluateAll((els) => els.map((e) => (e.textContent ?? "").match(/(Question|Answer) (\d{3})/)?.[2] ?? "?"));
      // The newest page (100 messages) and nothing older.
      await eventually(async () => (await labels()).length).toBe(100);
      expect((await labels()).at(-1)).toBe("249");
      expect((await labels())[0]).toBe("150");
      // Opened at its end: the newest message is in view.
      await eventually(() => page.evaluate<boolean>(`(() => { const s = document.getElementById("chat-scroll"); return s.scrollHeight - s.scrollTop - s.clientHeight < 100; })()`)).toBe(true);
      // In the page: at every scroll event and every frame, which message is at the top of the
      // view, how far below the scroller's top edge, and how many messages are loaded.
      await page.evaluate(READING_RECORDER);
      return { page, labels };
    };

    /** Every time an older page came in above, what the student was reading stayed where it was; then all 250 are there, in order, once. */
    const keptThePlace = async (page: Page, labels: () => Promise<string[]>, pages: number[]) => {
      await page.waitForTimeout(300);
      const log = await page.evaluate<Reading[]>("window.__reading");
      const loads = log.flatMap((r, i) => (i > 0 && r.count > log[i - 1]!.count ? [{ before: log[i - 1]!, after: r }] : []));
      expect(loads.map((l) => l.after.count)).toEqual(pages);
      for (const { before, after } of loads) {
        expect(after.previousNow, `reading ${before.label} at ${before.offset}px; once the page came in, it was at ${after.previousNow}px`).not.toBeNull();
        expect(Math.abs(after.previousNow! - before.offset), `reading ${before.label} at ${before.offset}px; once the page came in, it was at ${after.previousNow}px`).toBeLessThanOrEqual(2);
      }
      expect(await labels()).toEqual(Array.from({ length: 250 }, (_, i) => String(i).padStart(3, "0")));
      expect(await page.getByRole("button", { name: "Load earlier messages" }).count()).toBe(0);
    };

    it("opens at its newest page and loads older pages as the student scrolls up, with no gaps or duplicates, keeping the place", async () => {
      const { page, labels } = await longConversation();
      // The student scrolls up a few lines at a time until the whole conversation is there.
      for (let step = 0; step < 500 && (await labels()).length < 250; step++) {
        await page.evaluate(`document.getElementById("chat-scroll").scrollBy(0, -250)`);
        await page.waitForTimeout(60);
      }
      await keptThePlace(page, labels, [200, 250]);
    });

    it("keeps the place when the student jumps straight to the top (the scrollbar dragged up)", async () => {
      const { page, labels } = await longConversation();
      for (let jump = 0; jump < 20 && (await labels()).length < 250; jump++) {
        await page.evaluate(`document.getElementById("chat-scroll").scrollTop = 0`);
        await page.waitForTimeout(400);
      }
      await keptThePlace(page, labels, [200, 250]);
    });
  });
});
