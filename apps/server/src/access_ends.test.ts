// Access ends everywhere (PROTOCOL.md "Access and limits"): a logout on one
// connection, a REST logout, or the token expiring ends every connection
// signed in with that token within 2 s — `session_ended`, nothing more of the
// user, unauthenticated again, and a running answer stops with what was said
// stored.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FIXED_ANSWERS } from "@tutor/protocol";
import { behave, startFakeLlm, type FakeLlm } from "@tutor/testkit";
import { ask, FAST_MODEL, MAIN_MODEL, signUp, startTestServer, WsClient, type TestServer } from "./test-helpers.js";

let fake: FakeLlm;
let srv: TestServer;
let short: TestServer;

beforeAll(async () => {
  fake = await startFakeLlm({ models: [MAIN_MODEL, FAST_MODEL] });
  fake.setDefault(FAST_MODEL, behave.reply("YES"));
  fake.setDefault(MAIN_MODEL, behave.reply("Stacks are last in, first out."));
  srv = await startTestServer({ fake });
  // Tokens that live 2 seconds: expiry while connected.
  short = await startTestServer({ fake, configure: (c) => (c.auth.tokenTtlSeconds = 2) });
});
afterAll(async () => {
  await srv?.close();
  await short?.close();
  await fake?.close();
});

async function rest(server: TestServer, method: string, path: string, token: string, body?: unknown) {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, json: res.status === 204 ? undefined : ((await res.json()) as Record<string, unknown>) };
}

/** A second token of the same user (another device), on its own connection. */
async function otherDevice(server: TestServer, username: string): Promise<{ ws: WsClient; token: string }> {
  const ws = await WsClient.connect(server.wsUrl);
  const r = await ws.request({ type: "auth_request", data: { type: "login", username, password: "correct horse battery" } }, "auth_response");
  expect(r.success).toBe(true);
  return { ws, token: r.token as string };
}

/**
 * Starts a long answer on `b`, ends the sign-in with `end`, and checks what a
 * student (and an attacker holding the token) would notice.
 */
async function checkEnded(server: TestServer, end: (a: WsClient, token: string) => Promise<void>, reason: string) {
  const a = await WsClient.connect(server.wsUrl);
  const { token, username } = await signUp(a);
  const b = await WsClient.connect(server.wsUrl);
  expect((await b.request({ type: "auth_request", data: { type: "verify", token } }, "auth_response")).success).toBe(true);
  const other = await otherDevice(server, username);

  // A long answer is streaming on b when the sign-in ends.
  const full = "Recursion is when a function calls itself. ".repeat(200);
  fake.script(MAIN_MODEL, behave.reply(full, { chunkDelayMs: 20 }));
  b.send({ type: "text_input", text: "Explain recursion slowly", teaching_mode: "qa", request_id: "long" });
  const delta = await b.waitFor((m) => m.type === "ai_response_delta" && m.request_id === "long");
  const convId = delta.conversation_id as string;
  await new Promise((r) => setTimeout(r, 200));

  const t0 = Date.now();
  await end(a, token);
  const ended = await b.waitFor((m) => m.type === "session_ended", 2_000);
  expect(Date.now() - t0).toBeLessThan(2_000);
  expect(ended.reason).toBe(reason);
  const afterEnd = b.messages.indexOf(ended);

  // The model call stopped, and what was said is stored, marked interrupted.
  const req = fake.requests.findLast((r) => r.model === MAIN_MODEL)!;
  expect(await req.settled).toBe("client_closed");
  await expect
    .poll(async () => ((await rest(server, "GET", `/api/conversations/${convId}`, other.token)).json!.conversation as { messages: unknown[] }).messages.length)
    .toBe(2);
  const stored = ((await rest(server, "GET", `/api/conversations/${convId}`, other.token)).json!.conversation as { messages: { content: string }[] })
    .messages[1]!.content;
  expect(stored.endsWith(FIXED_ANSWERS.interruptedNote)).toBe(true);
  const said = stored.slice(0, -FIXED_ANSWERS.interruptedNote.length);
  expect(said.length).toBeGreaterThan("Recursion is".length);
  expect(full.startsWith(said)).toBe(true);

  // Unauthenticated again: a request is refused...
  const refused = await b.request({ type: "list_conversations" });
  expect(refused).toMatchObject({ type: "error", code: "unauthenticated" });
  // ...and the user's activity elsewhere no longer reaches it.
  await ask(other.ws, { text: "What is a queue?", conversation_id: convId });
  await other.ws.request({ type: "rename_conversation", conversation_id: convId, title: "Still mine" }, "conversation_updated");
  const ping = await b.request({ type: "ping" }, "pong");
  const later = b.messages.slice(afterEnd + 1).filter((m) => m !== refused && m !== ping);
  expect(later).toEqual([]);
  // The token is dead for REST too; the other device's token still works.
  expect((await rest(server, "GET", "/api/auth/me", token)).status).toBe(401);
  expect((await rest(server, "GET", "/api/auth/me", other.token)).status).toBe(200);

  await Promise.all([a.close(), b.close(), other.ws.close()]);
}

describe("access ends everywhere", () => {
  it("a logout over the WebSocket ends the token's other connection: session_ended, answer stored, no later data", async () => {
    await checkEnded(
      srv,
      async (a) => {
        const r = await a.request({ type: "auth_request", data: { type: "logout" } }, "auth_response");
        expect(r.success).toBe(true);
        // The connection that logged out gets its reply, not a session_ended of its own.
        expect(a.messages.some((m) => m.type === "session_ended")).toBe(false);
      },
      "logout",
    );
  });

  it("a REST logout ends every WebSocket signed in with that token", async () => {
    await checkEnded(
      srv,
      async (_a, token) => {
        expect((await rest(srv, "POST", "/api/auth/logout", token)).status).toBe(204);
      },
      "logout",
    );
  });

  it("a token expiring while connected ends the connection by a timer, with no frame from the client", async () => {
    const b = await WsClient.connect(short.wsUrl);
    const t0 = Date.now();
    const { token } = await signUp(b);
    const ended = await b.waitFor((m) => m.type === "session_ended", 5_000);
    expect(ended.reason).toBe("expired");
    // Not before the token's lifetime (2 s, JWT expiry in whole seconds), and promptly after it.
    expect(Date.now() - t0).toBeGreaterThan(900);
    expect(Date.now() - t0).toBeLessThan(4_000);
    expect(await b.request({ type: "list_conversations" })).toMatchObject({ type: "error", code: "unauthenticated" });
    const again = await b.request({ type: "auth_request", data: { type: "verify", token } }, "auth_response");
    expect(again).toMatchObject({ success: false, error_type: "token_expired" });
    await b.close();
  });
});
