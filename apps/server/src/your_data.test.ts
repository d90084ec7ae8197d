// Search, export/import and the account routes over real HTTP and the WebSocket.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_IMPORT_BYTES } from "@tutor/protocol";
import { behave, startFakeLlm, type FakeLlm } from "@tutor/testkit";
import { FAST_MODEL, MAIN_MODEL, WsClient, ask, signUp, startTestServer, type TestServer } from "./test-helpers.js";

let fake: FakeLlm;
let srv: TestServer;

async function call(method: string, path: string, bearer: string | null, body?: unknown, raw?: string) {
  const res = await fetch(srv.url + path, {
    method,
    headers: { ...(bearer ? { authorization: `Bearer ${bearer}` } : {}), ...(body === undefined && raw === undefined ? {} : { "content-type": "application/json" }) },
    body: raw ?? (body === undefined ? undefined : JSON.stringify(body)),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: text && res.headers.get("content-type")?.includes("json") ? JSON.parse(text) : undefined, text };
}

beforeAll(async () => {
  fake = await startFakeLlm({ models: [MAIN_MODEL, FAST_MODEL] });
  fake.setDefault(FAST_MODEL, behave.reply("YES"));
  fake.setDefault(MAIN_MODEL, behave.compute((req) => `About ${req.messages.at(-1)?.content ?? ""}: a stack frame holds locals.\n\n\`\`\`python\nprint(1)\n\`\`\``));
  srv = await startTestServer({ fake });
});
afterAll(async () => {
  await srv?.close();
  await fake?.close();
});

/** A signed-in WebSocket client with one answered question. */
async function student(question: string) {
  const ws = await WsClient.connect(srv.wsUrl);
  const me = await signUp(ws);
  const msgs = await ask(ws, { text: question, teaching_mode: "qa" });
  const conversationId = msgs.find((m) => m.type === "user_message")!.conversation_id as string;
  return { ws, ...me, conversationId };
}

describe("search", () => {
  it("answers search_conversations over the WebSocket and GET /api/search alike, owner only", async () => {
    const a = await student("How does recursion work?");
    const b = await student("How does recursion work?");
    const reply = await a.ws.request({ type: "search_conversations", query: "recurs" }, "search_results");
    expect(reply.query).toBe("recurs");
    const results = reply.results as { conversation_id: string; snippet: string; message_id: string; title: string; teaching_mode: string; timestamp: string }[];
    expect(results.length).toBe(2);
    expect(results.every((r) => r.conversation_id === a.conversationId)).toBe(true);
    expect(results[0]!.snippet).toContain("<mark>recursion</mark>");
    expect(Date.parse(results[0]!.timestamp)).toBeGreaterThanOrEqual(Date.parse(results[1]!.timestamp));
    const rest = await call("GET", "/api/search?q=recurs&limit=1&teaching_mode=qa", a.token);
    expect(rest.status).toBe(200);
    expect(rest.json).toEqual({ query: "recurs", results: results.slice(0, 1) });
    expect((await call("GET", "/api/search?q=recurs&teaching_mode=teacher", a.token)).json.results).toEqual([]);
    expect((await call("GET", "/api/search?q=recurs", null)).status).toBe(401);
    await a.ws.close();
    await b.ws.close();
  });

  it("refuses hostile or empty queries as invalid_message and the connection goes on", async () => {
    const a = await student("What is a queue?");
    for (const query of ['" * -', "%%%", ""]) {
      const r = await a.ws.request({ type: "search_conversations", query }, "error");
      expect(r).toMatchObject({ type: "error", code: "invalid_message" });
    }
    for (const query of ['queue OR "', "NEAR(queue)", "que*", "-queue", "キュー"]) {
      const r = await a.ws.request({ type: "search_conversations", query });
      expect(r.type).toBe("search_results");
    }
    expect((await call("GET", `/api/search?q=${encodeURIComponent('"*')}`, a.token)).json.error.code).toBe("invalid_message");
    expect((await call("GET", `/api/search?q=${"x".repeat(201)}`, a.token)).json.error.code).toBe("invalid_message");
    expect((await a.ws.request({ type: "ping" })).type).toBe("pong");
    await a.ws.close();
  });
});

describe("export and import", () => {
  it("exports a conversation as Markdown and JSON, the account as a versioned document, and imports it elsewhere under new ids", async () => {
    const a = await student("What is a stack frame?");
    const md = await call("GET", `/api/conversations/${a.conversationId}/export?format=md`, a.token);
    expect(md.status).toBe(200);
    expect(md.headers.get("content-type")).toContain("text/markdown");
    expect(md.headers.get("content-disposition")).toMatch(/^attachment; filename=".+\.md"$/);
    expect(md.text).toMatch(/^# /);
    expect(md.text).toContain("What is a stack frame?");
    expect(md.text).toContain("```python\nprint(1)\n```");
    expect(md.text).toMatch(/## Answer · \d{4}-\d\d-\d\d \d\d:\d\d UTC · model: tutor-main/);
    const one = await call("GET", `/api/conversations/${a.conversationId}/export?format=json`, a.token);
    expect(one.json).toMatchObject({ version: 1, conversations: [{ id: a.conversationId, teaching_mode: "qa" }] });

    const all = await call("GET", "/api/export", a.token);
    expect(all.status).toBe(200);
    expect(all.json.version).toBe(1);
    expect(all.json.conversations).toHaveLength(1);

    const b = await student("Something of my own");
    const imported = await call("POST", "/api/import", b.token, all.json);
    expect(imported.status).toBe(201);
    expect(imported.json.imported).toBe(1);
    expect(imported.json.conversation_ids[0]).not.toBe(a.conversationId);
    // b's open tab is told, unasked: the first page of each mode again, the imported conversation in it.
    const unasked = (mode: string) => (m: Record<string, unknown>) => m.type === "conversations_list" && m.teaching_mode === mode && m.request_id === undefined;
    const qaList = await b.ws.waitFor(unasked("qa"));
    expect((qaList.conversations as { id: string }[]).map((c) => c.id)).toContain(imported.json.conversation_ids[0]);
    expect((await b.ws.waitFor(unasked("teacher"))).conversations).toEqual([]);
    // a's tab heard nothing of it.
    expect(a.ws.messages.some((m: Record<string, unknown>) => m.type === "conversations_list" && m.request_id === undefined)).toBe(false);
    const mine = await call("GET", "/api/export", b.token);
    expect(mine.json.conversations).toHaveLength(2);
    const copy = mine.json.conversations.find((c: { id: string }) => c.id === imported.json.conversation_ids[0]);
    const strip = (c: { title: string; messages: { type: string; content: string; model?: string }[] }) => ({
      title: c.title,
      messages: c.messages.map((m) => ({ type: m.type, content: m.content, model: m.model })),
    });
    expect(strip(copy)).toEqual(strip(all.json.conversations[0]));
    // a's data is untouched.
    expect((await call("GET", "/api/export", a.token)).json.conversations).toHaveLength(1);
    await a.ws.close();
    await b.ws.close();
  });

  it("refuses a foreign id, another version, garbage and a 10 MB body, storing nothing", async () => {
    const a = await student("What is a heap?");
    const b = await student("What is a tree?");
    expect((await call("GET", `/api/conversations/${a.conversationId}/export`, b.token)).status).toBe(404);
    expect((await call("GET", `/api/conversations/nope/export?format=json`, b.token)).json.error.code).toBe("not_found");
    const v2 = await call("POST", "/api/import", b.token, { version: 2, exported_at: "x", conversations: [] });
    expect(v2.status).toBe(400);
    expect(v2.json.error.code).toBe("invalid_message");
    expect((await call("POST", "/api/import", b.token, undefined, "{not json")).json.error.code).toBe("bad_json");
    expect((await call("POST", "/api/import", b.token, { version: 1, exported_at: "x", conversations: [{ title: "t" }] })).json.error.code).toBe("invalid_message");
    const huge = JSON.stringify({ version: 1, exported_at: "x", conversations: [{ title: "t", teaching_mode: "qa", created_at: "2026-01-01T00:00:00Z", updated_at: "2026-01-01T00:00:00Z", messages: [{ type: "user", content: "x".repeat(10 * 1024 * 1024), timestamp: "2026-01-01T00:00:00Z" }] }] });
    const big = await call("POST", "/api/import", b.token, undefined, huge);
    expect(big.status).toBe(413);
    expect(big.json.error.code).toBe("too_large");
    // The message names the import's own limit, not the 256 KiB of other requests.
    expect(big.json.error.message).toBe(`request body is over the limit of 8 MiB (${MAX_IMPORT_BYTES} bytes)`);
    expect((await call("GET", "/api/export", b.token)).json.conversations).toHaveLength(1);
    await a.ws.close();
    await b.ws.close();
  });
});

describe("account", () => {
  it("changes the password only with the current one; other tokens end, this one goes on", async () => {
    const a = await student("What is a byte?");
    const other = await call("POST", "/api/auth/login", null, { username: a.username, password: "correct horse battery" });
    // Another tab signed in with the other token, and one with this token.
    const otherTab = await WsClient.connect(srv.wsUrl);
    expect(await otherTab.request({ type: "auth_request", data: { type: "verify", token: other.json.token } })).toMatchObject({ success: true });
    const password = other.status === 200 ? "correct horse battery" : undefined;
    expect(password, "signUp's password").toBeDefined();
    const wrong = await call("POST", "/api/auth/password", a.token, { current_password: "not it at all", new_password: "a new long password" });
    expect(wrong.status).toBe(401);
    expect(wrong.json.error.error_type).toBe("invalid_credentials");
    expect((await call("GET", "/api/auth/me", other.json.token)).status).toBe(200);
    const weak = await call("POST", "/api/auth/password", a.token, { current_password: password, new_password: "short" });
    expect(weak.json.error.code).toBe("invalid_message");
    const ok = await call("POST", "/api/auth/password", a.token, { current_password: password, new_password: "a new long password" });
    expect(ok.status).toBe(200);
    expect(ok.json.revoked_sessions).toBeGreaterThanOrEqual(1);
    expect((await call("GET", "/api/auth/me", a.token)).status).toBe(200);
    expect((await call("GET", "/api/auth/me", other.json.token)).status).toBe(401);
    // The other tab's sign-in ended; this socket (the changing token) goes on.
    expect(await otherTab.waitFor((m) => m.type === "session_ended", 5_000)).toMatchObject({ reason: "revoked" });
    expect(await otherTab.request({ type: "list_conversations" })).toMatchObject({ type: "error", code: "unauthenticated" });
    expect((await a.ws.request({ type: "list_conversations" })).type).toBe("conversations_list");
    expect(a.ws.messages.some((m) => m.type === "session_ended")).toBe(false);
    await otherTab.close();
    expect((await call("POST", "/api/auth/login", null, { username: a.username, password })).status).toBe(401);
    expect((await call("POST", "/api/auth/login", null, { username: a.username, password: "a new long password" })).status).toBe(200);
    await a.ws.close();
  });

  it("deletes the account and all of its data with the password", async () => {
    const a = await student("What is a bit?");
    expect((await call("DELETE", "/api/auth/me", a.token, { password: "wrong wrong wrong" })).status).toBe(401);
    expect((await call("GET", `/api/search?q=bit`, a.token)).json.results.length).toBeGreaterThan(0);
    expect((await call("DELETE", "/api/auth/me", a.token, { password: "correct horse battery" })).status).toBe(204);
    expect(await a.ws.waitFor((m) => m.type === "session_ended", 5_000)).toMatchObject({ reason: "revoked" });
    expect(await a.ws.request({ type: "list_conversations" })).toMatchObject({ type: "error", code: "unauthenticated" });
    expect((await call("GET", "/api/auth/me", a.token)).status).toBe(401);
    expect((await call("POST", "/api/auth/login", null, { username: a.username, password: "correct horse battery" })).status).toBe(401);
    const again = await call("POST", "/api/auth/register", null, { username: a.username, password: "correct horse battery" });
    expect(again.status).toBe(201);
    expect((await call("GET", `/api/search?q=bit`, again.json.token)).json.results).toEqual([]);
    expect((await call("GET", `/api/conversations/${a.conversationId}/export`, again.json.token)).status).toBe(404);
    await a.ws.close();
  });
});

describe("addresses", () => {
  it("serves the app for /c/<id>", async () => {
    const res = await fetch(`${srv.url}/c/some-conversation`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/html");
  });
});
