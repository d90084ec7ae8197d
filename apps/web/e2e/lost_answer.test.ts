// A question with no answer in storage (its server died while answering, or
// it was stopped before any of the answer came), in real Chromium against the
// real server: the chat says so under the question, and "Ask again" asks it
// again. Screenshots light and dark, wide and 375 px, with axe's findings.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Page } from "playwright-core";
import { behave, startFakeLlm, type FakeLlm } from "@tutor/testkit";
import { EXPORT_VERSION } from "@tutor/protocol";
import { lastUserText, PASSWORD, titleOrYes } from "./flows.js";
import { axeViolations, chromiumAvailable, closeBrowsers, ensureWebBuilt, launchBrowser, openPage, screenshot, startServerProcess, type Browser, type ServerProcess } from "./harness.js";

const BIG = "tutor-big";
const FAST = "tutor-fast";
const QUESTION = "How does a linked list differ from an array?";
const available = chromiumAvailable();
const eventually = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 20_000, interval: 100 });

describe.skipIf(!available)("a question left without an answer (Chromium)", () => {
  let llm: FakeLlm;
  let server: ServerProcess;
  const browsers: Browser[] = [];
  const pageErrors: string[] = [];

  beforeAll(async () => {
    ensureWebBuilt();
    llm = await startFakeLlm({ models: [BIG, FAST] });
    llm.setDefault(FAST, titleOrYes("Linked lists"));
    llm.setDefault(BIG, behave.compute((req) => `About "${lastUserText(req)}": a linked list is a chain of nodes, an array one block of memory.`));
    server = await startServerProcess({ llmUrl: llm.url, models: [BIG, FAST], fastModel: FAST });
  });

  afterEach(async (ctx) => {
    await closeBrowsers(browsers, ctx, "failed-lost");
    expect(pageErrors.splice(0)).toEqual([]);
  });

  afterAll(async () => {
    await closeBrowsers(browsers);
    await server?.stop();
    await llm?.close();
  });

  /** A student whose conversation ends with a question asked an hour ago and never answered. */
  async function studentWithUnanswered(): Promise<{ token: string; id: string }> {
    const username = `lost_${Date.now().toString(36)}`;
    const reg = await fetch(`${server.url}/api/auth/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username, password: PASSWORD }),
    });
    const { token } = (await reg.json()) as { token: string };
    const at = (minutesAgo: number) => new Date(Date.now() - minutesAgo * 60_000).toISOString();
    const doc = {
      version: EXPORT_VERSION,
      exported_at: at(0),
      conversations: [
        {
          title: "Linked lists",
          teaching_mode: "qa",
          created_at: at(62),
          updated_at: at(60),
          messages: [
            { type: "user", content: "What is an array?", timestamp: at(62) },
            { type: "ai", content: "An array keeps its items side by side in memory, so the n-th is found at once.", timestamp: at(61) },
            { type: "user", content: QUESTION, timestamp: at(60) },
          ],
        },
      ],
    };
    const imported = await fetch(`${server.url}/api/import`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify(doc),
    });
    expect(imported.status).toBeLessThan(300);
    const list = (await (await fetch(`${server.url}/api/conversations?teaching_mode=qa`, { headers: { authorization: `Bearer ${token}` } })).json()) as {
      conversations: { id: string }[];
    };
    return { token, id: list.conversations[0]!.id };
  }

  async function openAs(token: string, path: string, viewport?: { width: number; height: number }): Promise<Page> {
    const browser = await launchBrowser(viewport, [], { bypassCSP: true });
    browsers.push(browser);
    return openPage(browser, `${server.url}${path}`, pageErrors, { token });
  }

  async function look(page: Page, name: string): Promise<void> {
    for (const scheme of ["light", "dark"] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      await screenshot(page, `${name}-${scheme}`);
      expect(await axeViolations(page), `${name} (${scheme})`).toEqual([]);
    }
    await page.emulateMedia({ colorScheme: "light" });
  }

  it("says the question has no answer, and Ask again gets one", async () => {
    const { token, id } = await studentWithUnanswered();
    const page = await openAs(token, `/c/${id}`);
    const notice = page.getByTestId("lost-answer");
    await eventually(() => notice.textContent()).toContain("This question has no answer");
    await look(page, "lost-answer");

    await notice.getByRole("button", { name: "Ask again" }).click();
    await eventually(() => page.locator(".message-ai").last().textContent()).toContain(`About "${QUESTION}"`);
    expect(await notice.count()).toBe(0);
    // Asked again, answered, stored: the question shows twice, the second time with its answer.
    await eventually(async () => (await page.locator(".message-user").allTextContents()).map((t) => t.replace(/^You said: /, ""))).toEqual([
      "What is an array?",
      QUESTION,
      QUESTION,
    ]);
  });

  it("reads well on a phone (375 px)", async () => {
    const { token, id } = await studentWithUnanswered();
    const page = await openAs(token, `/c/${id}`, { width: 375, height: 740 });
    await eventually(() => page.getByTestId("lost-answer").isVisible()).toBe(true);
    await look(page, "lost-answer-375");
  });
});
