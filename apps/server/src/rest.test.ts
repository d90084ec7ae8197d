// The REST + SSE side of the protocol, over real HTTP.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { behave, startFakeLlm, type FakeLlm } from "@tutor/testkit";
import { FAST_MODEL, MAIN_MODEL, WsClient, startTestServer, type TestServer } from "./test-helpers.js";

let fake: FakeLlm;
let srv: TestServer;
let token = "";

async function call(method: string, path: string, body?: unknown, bearer: string | null = token) {
  const res = await fetch(srv.url + path, {
    method,
    headers: { ...(bearer ? { authorization: `Bearer ${bearer}` } : {}), ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: text && res.headers.get("content-type")?.includes("json") ? JSON.parse(text) : undefined, text };
}

function parseSse(text: string): { event: string; data: Record<string, unknown> }[] {
  return text
    .split("\n\n")
    .filter((b) => b.trim())
    .map((block) => {
      const event = /^event: (.*)$/m.exec(block)![1]!;
      const data = JSON.parse(/^data: (.*)$/m.exec(block)![1]!) as Record<string, unknown>;
      return { event, data };
    });
}

beforeAll(async () => {
  fake = await startFakeLlm({ models: [MAIN_MODEL, FAST_MODEL] });
  fake.setDefault(FAST_MODEL, behave.reply("YES"));
  srv = await startTestServer({ fake });
});
afterAll(async () => {
  await srv?.close();
  await fake?.close();
});

describe("REST", () => {
  it("registers, signs in, tells who I am, and signs out", async () => {
    const reg = await call("POST", "/api/auth/register", { username: "rest_user", password: "rest password", email: "r@example.com" }, null);
    expect(reg.status).toBe(201);
    expect(reg.json.user).toMatchObject({ username: "rest_user", email: "r@example.com" });
    const taken = await call("POST", "/api/auth/register", { username: "REST_USER", password: "rest password" }, null);
    expect(taken.status).toBe(409);
    expect(taken.json.error).toMatchObject({ error_type: "username_taken" });

    const bad = await call("POST", "/api/auth/login", { username: "rest_user", password: "wrong password" }, null);
    expect(bad.status).toBe(401);
    expect(bad.json.error).toMatchObject({ code: "unauthenticated", error_type: "invalid_credentials" });

    const login = await call("POST", "/api/auth/login", { username: "rest_user", password: "rest password" }, null);
    expect(login.status).toBe(200);
    const me = await call("GET", "/api/auth/me", undefined, login.json.token);
    expect(me.json.user.username).toBe("rest_user");
    expect((await call("POST", "/api/auth/logout", undefined, login.json.token)).status).toBe(204);
    expect((await call("GET", "/api/auth/me", undefined, login.json.token)).status).toBe(401);
    token = reg.json.token;
  });

  it("answers rate_limited with Retry-After after 5 failed sign-ins", async () => {
    await call("POST", "/api/auth/register", { username: "rl_user", password: "rl password" }, null);
    for (let i = 0; i < 5; i++) expect((await call("POST", "/api/auth/login", { username: "rl_user", password: "nope nope" }, null)).status).toBe(401);
    const limited = await call("POST", "/api/auth/login", { username: "rl_user", password: "rl password" }, null);
    expect(limited.status).toBe(429);
    expect(limited.json.error).toMatchObject({ code: "rate_limited", error_type: "rate_limited" });
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
  });

  it("manages conversations", async () => {
    const created = await call("POST", "/api/conversations", { teaching_mode: "qa" });
    expect(created.status).toBe(201);
    const id = created.json.conversation.id as string;
    expect((await call("POST", "/api/conversations", { teaching_mode: "qa" })).json.conversation.id).toBe(id);
    const renamed = await call("PATCH", `/api/conversations/${id}`, { title: "  Pointers  " });
    expect(renamed.json.conversation.title).toBe("Pointers");
    const list = await call("GET", "/api/conversations?teaching_mode=qa&limit=5");
    expect(list.json).toEqual({ conversations: [expect.objectContaining({ id, title: "Pointers" })], next_cursor: null });
    const teacher = (await call("POST", "/api/conversations", {})).json.conversation;
    expect(teacher.teaching_mode).toBe("teacher");
    const del = await call("DELETE", `/api/conversations/${id}`);
    expect(del.json.conversation_id).toBe(id);
    expect((await call("GET", `/api/conversations/${id}`)).status).toBe(404);
    const cleared = await call("DELETE", "/api/conversations?teaching_mode=teacher");
    expect(cleared.json).toMatchObject({ teaching_mode: "teacher", deleted_count: 1 });
    expect(cleared.json.new_conversation_id).not.toBe(teacher.id);
  });

  it("runs a turn as Server-Sent Events of the protocol messages", async () => {
    fake.script(MAIN_MODEL, behave.reply("Pointers hold addresses. Dereferencing reads the value.", { chunkDelayMs: 3 }));
    const conv = (await call("POST", "/api/conversations", { teaching_mode: "qa" })).json.conversation;
    const res = await call("POST", `/api/conversations/${conv.id}/messages`, { text: "What is a pointer in C?" });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const events = parseSse(res.text);
    const types = events.map((e) => e.event);
    expect(types[0]).toBe("user_message");
    expect(types.filter((t) => t === "ai_response_delta").length).toBeGreaterThan(2);
    expect(types).toContain("web_tts");
    expect(types.at(-1)).toBe("conversation_updated");
    const answer = events.find((e) => e.event === "ai_response")!.data;
    expect(answer.text).toBe("Pointers hold addresses. Dereferencing reads the value.");
    const stored = (await call("GET", `/api/conversations/${conv.id}`)).json.conversation;
    expect(stored.messages.map((m: { content: string }) => m.content)).toEqual(["What is a pointer in C?", answer.text]);
  });

  it("stores the partial answer when the SSE client goes away mid-answer", async () => {
    fake.script(MAIN_MODEL, behave.reply("Word ".repeat(300), { chunkDelayMs: 10 }));
    const conv = (await call("POST", "/api/conversations", { teaching_mode: "qa" })).json.conversation;
    const controller = new AbortController();
    const res = await fetch(`${srv.url}/api/conversations/${conv.id}/messages`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ text: "What is a compiler?" }),
      signal: controller.signal,
    });
    const reader = res.body!.getReader();
    let seen = "";
    while (!seen.includes("ai_response_delta")) seen += new TextDecoder().decode((await reader.read()).value);
    controller.abort();
    const req = fake.requests.findLast((r) => r.model === MAIN_MODEL)!;
    expect(await req.settled).toBe("client_closed");
    await expect.poll(async () => (await call("GET", `/api/conversations/${conv.id}`)).json.conversation.messages.length).toBe(2);
    const ai = (await call("GET", `/api/conversations/${conv.id}`)).json.conversation.messages[1];
    expect(ai.content.length).toBeGreaterThan(0);
    expect(ai.content.length).toBeLessThan("Word ".repeat(300).length);
  });

  it("shows a REST change in the user's open WebSocket", async () => {
    const ws = await WsClient.connect(srv.wsUrl);
    await ws.request({ type: "auth_request", data: { type: "verify", token } });
    const conv = (await call("POST", "/api/conversations", { teaching_mode: "teacher" })).json.conversation;
    await call("PATCH", `/api/conversations/${conv.id}`, { title: "Renamed elsewhere" });
    const pushed = await ws.waitFor((m) => m.type === "conversation_updated" && (m.conversation as { title: string }).title === "Renamed elsewhere");
    expect(pushed).toBeTruthy();
    await ws.close();
  });

  it("serves health, readiness, config, metrics and the OpenAPI document", async () => {
    expect((await call("GET", "/healthz", undefined, null)).json).toEqual({ status: "ok" });
    expect((await call("GET", "/readyz", undefined, null)).json).toEqual({ status: "ready", database: "ok", hub: { kind: "in_process", connected: true } });
    const cfg = (await call("GET", "/api/config", undefined, null)).json;
    expect(cfg).toMatchObject({ llm: { configured: true, models: [MAIN_MODEL, FAST_MODEL] }, livekit: { enabled: false }, limits: { max_text_chars: 50000 } });
    const metrics = await call("GET", "/metrics", undefined, null);
    expect(metrics.text).toContain("tutor_turns_total");
    const doc = (await call("GET", "/api/docs/json", undefined, null)).json;
    expect(doc.openapi).toMatch(/^3\./);
    for (const path of ["/api/auth/register", "/api/auth/login", "/api/conversations", "/api/conversations/{id}", "/api/conversations/{id}/messages"]) {
      expect(Object.keys(doc.paths)).toContain(path);
    }
    const html = await fetch(`${srv.url}/api/docs`, { redirect: "follow" });
    expect(html.status).toBe(200);
  });
});
