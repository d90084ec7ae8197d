// What a student does in the page, and the fake model's usual answers, shared
// by the e2e suites (the plumbing — server process, Chromium — is harness.ts).
import { behave, type FakeBehaviour, type FakeRequest } from "@tutor/testkit";
import type { Page } from "playwright-core";
import { expect } from "vitest";

export const PASSWORD = "correct horse battery";

/** Opens the sign-up form and creates the account (callers wait for what they expect next). */
export async function signUpInPage(page: Page, username: string, password = PASSWORD): Promise<void> {
  await page.getByRole("button", { name: "Create account" }).first().click();
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(password);
  await page.locator("form").getByRole("button", { name: "Create account" }).click();
}

/** Signs in on the sign-in form shown (callers wait for what they expect next). */
export async function signInInPage(page: Page, username: string, password = PASSWORD): Promise<void> {
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(password);
  await page.locator("form").getByRole("button", { name: "Sign in" }).click();
}

/** Types a question into the composer once it is enabled and sends it with Enter. */
export async function askInPage(page: Page, question: string, timeoutMs = 30_000): Promise<void> {
  const box = page.getByLabel("Your question");
  await expect.poll(() => box.isEnabled(), { timeout: timeoutMs, interval: 100 }).toBe(true);
  await box.fill(question);
  await box.press("Enter");
}

/**
 * A REST call as a client makes it (JSON body, bearer token): the status, the
 * body parsed as JSON (the text when it is not JSON, null when empty) and the text.
 */
export async function restCall<T>(
  baseUrl: string,
  path: string,
  init: { method?: string; token?: string; body?: unknown } = {},
): Promise<{ status: number; body: T; text: string }> {
  const res = await fetch(`${baseUrl}${path}`, {
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
    body = (text ? JSON.parse(text) : null) as T;
  } catch {
    body = text as T;
  }
  return { status: res.status, body, text };
}

let accountSeq = 0;
/** A new account registered over REST; its name and token. */
export async function restAccount(baseUrl: string): Promise<{ username: string; token: string }> {
  const username = `stu_${Date.now().toString(36)}_${++accountSeq}`;
  const r = await restCall<{ token: string }>(baseUrl, "/api/auth/register", { method: "POST", body: { username, password: PASSWORD } });
  expect(r.status).toBe(201);
  return { username, token: r.body.token };
}

/** The student's last message in a model request. */
export function lastUserText(req: FakeRequest): string {
  return [...req.messages].reverse().find((m) => m.role === "user")?.content ?? "";
}

/** Is this the server's title request (rather than the topic check) to the fast model? */
export function isTitleRequest(req: FakeRequest): boolean {
  return (req.messages[0]?.content ?? "").startsWith("You write titles");
}

/** The fast model: `title` for the title request, YES (on topic) for the topic check. */
export function titleOrYes(title: string | ((req: FakeRequest) => string)): FakeBehaviour {
  return behave.compute((req) => (isTitleRequest(req) ? (typeof title === "string" ? title : title(req)) : "YES"));
}

/** Chromium flags for a fake microphone that plays `wav` once, then silence. */
export function fakeMicArgs(wav: string): string[] {
  return ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream", `--use-file-for-fake-audio-capture=${wav}%noloop`];
}
