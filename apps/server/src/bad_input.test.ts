// Bad input on the WebSocket and the matching REST routes: the exact error
// codes of PROTOCOL.md, the connection stays open, and nothing is stored.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_FRAME_BYTES, MAX_TEXT_CHARS } from "@tutor/protocol";
import { behave, startFakeLlm, type FakeLlm } from "@tutor/testkit";
import { FAST_MODEL, MAIN_MODEL, WsClient, signUp, startTestServer, type TestServer } from "./test-helpers.js";

let fake: FakeLlm;
let srv: TestServer;
let ws: WsClient;
let token: string;
let convId: string;
let othersConvId: string;

async function rest(method: string, path: string, body?: unknown, opts: { raw?: string; auth?: string | null } = {}) {
  const headers: Record<string, string> = {};
  const bearer = opts.auth === undefined ? token : opts.auth;
  if (bearer) headers.authorization = `Bearer ${bearer}`;
  if (body !== undefined || opts.raw !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(srv.url + path, { method, headers, body: opts.raw ?? (body === undefined ? undefined : JSON.stringify(body)) });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as { error?: { code: string; message: string } }) : undefined };
}

/** What the user can see of their data: every conversation with its messages. */
async function snapshot(): Promise<string> {
  const list = await ws.request({ type: "list_conversations", limit: 100 }, "conversations_list");
  const convs = [];
  for (const c of list.conversations as { id: string }[]) {
    convs.push((await ws.request({ type: "get_conversation", conversation_id: c.id }, "conversation_data")).conversation);
  }
  return JSON.stringify(convs);
}

beforeAll(async () => {
  fake = await startFakeLlm({ models: [MAIN_MODEL, FAST_MODEL] });
  fake.setDefault(FAST_MODEL, behave.reply("YES"));
  srv = await startTestServer({ fake });
  const other = await WsClient.connect(srv.wsUrl);
  await signUp(other);
  othersConvId = ((await other.request({ type: "new_conversation" }, "conversation_data")).conversation as { id: string }).id;
  await other.close();
  ws = await WsClient.connect(srv.wsUrl);
  ({ token } = await signUp(ws));
  convId = ((await ws.request({ type: "new_conversation", teaching_mode: "qa" }, "conversation_data")).conversation as { id: string }).id;
});
afterAll(async () => {
  await ws?.close();
  await srv?.close();
  await fake?.close();
});

const tooLongText = "x".repeat(MAX_TEXT_CHARS + 1);

interface Case {
  name: string;
  /** A raw WebSocket frame. */
  frame: string | Buffer;
  code: string;
  /** The matching REST call, when there is one. */
  rest?: { method: string; path: () => string; body?: unknown; raw?: string; status: number; code: string };
}

const cases: Case[] = [
  {
    name: "invalid JSON",
    frame: '{"type": "text_input", "text": ',
    code: "bad_json",
    rest: { method: "POST", path: () => `/api/conversations/${convId}/messages`, raw: '{"text": ', status: 400, code: "bad_json" },
  },
  { name: "a JSON array", frame: "[1,2,3]", code: "invalid_message" },
  { name: "a type that is not a string", frame: JSON.stringify({ type: 42 }), code: "invalid_message" },
  { name: "an unknown type", frame: JSON.stringify({ type: "drop_tables" }), code: "unknown_type" },
  { name: "a prototype key as type", frame: JSON.stringify({ type: "__proto__" }), code: "unknown_type" },
  {
    name: "text of the wrong type",
    frame: JSON.stringify({ type: "text_input", text: 12 }),
    code: "invalid_message",
    rest: { method: "POST", path: () => `/api/conversations/${convId}/messages`, body: { text: 12 }, status: 400, code: "invalid_message" },
  },
  {
    name: "empty text",
    frame: JSON.stringify({ type: "text_input", text: "" }),
    code: "invalid_message",
    rest: { method: "POST", path: () => `/api/conversations/${convId}/messages`, body: { text: "" }, status: 400, code: "invalid_message" },
  },
  {
    name: "text over 50,000 characters",
    frame: JSON.stringify({ type: "text_input", text: tooLongText }),
    code: "invalid_message",
    rest: { method: "POST", path: () => `/api/conversations/${convId}/messages`, body: { text: tooLongText }, status: 400, code: "invalid_message" },
  },
  {
    name: "a frame over 256 KiB",
    frame: JSON.stringify({ type: "text_input", text: "y".repeat(MAX_FRAME_BYTES) }),
    code: "too_large",
    rest: { method: "POST", path: () => `/api/conversations/${convId}/messages`, body: { text: "y".repeat(MAX_FRAME_BYTES) }, status: 413, code: "too_large" },
  },
  {
    name: "an unknown teaching mode",
    frame: JSON.stringify({ type: "new_conversation", teaching_mode: "hypnosis" }),
    code: "invalid_message",
    rest: { method: "POST", path: () => "/api/conversations", body: { teaching_mode: "hypnosis" }, status: 400, code: "invalid_message" },
  },
  {
    name: "an empty title",
    frame: JSON.stringify({ type: "rename_conversation", conversation_id: "x", title: "   " }),
    code: "invalid_message",
    rest: { method: "PATCH", path: () => `/api/conversations/${convId}`, body: { title: "   " }, status: 400, code: "invalid_message" },
  },
  {
    name: "a title over 200 characters",
    frame: JSON.stringify({ type: "rename_conversation", conversation_id: "x", title: "t".repeat(201) }),
    code: "invalid_message",
    rest: { method: "PATCH", path: () => `/api/conversations/${convId}`, body: { title: "t".repeat(201) }, status: 400, code: "invalid_message" },
  },
  {
    name: "a list limit out of range",
    frame: JSON.stringify({ type: "list_conversations", limit: 1000 }),
    code: "invalid_message",
    rest: { method: "GET", path: () => "/api/conversations?limit=1000", status: 400, code: "invalid_message" },
  },
  {
    name: "another user's conversation (get)",
    frame: "",
    code: "not_found",
    rest: { method: "GET", path: () => `/api/conversations/${othersConvId}`, status: 404, code: "not_found" },
  },
  {
    name: "another user's conversation (rename)",
    frame: "",
    code: "not_found",
    rest: { method: "PATCH", path: () => `/api/conversations/${othersConvId}`, body: { title: "mine now" }, status: 404, code: "not_found" },
  },
  {
    name: "another user's conversation (delete)",
    frame: "",
    code: "not_found",
    rest: { method: "DELETE", path: () => `/api/conversations/${othersConvId}`, status: 404, code: "not_found" },
  },
  {
    name: "another user's conversation (ask)",
    frame: "",
    code: "not_found",
    rest: { method: "POST", path: () => `/api/conversations/${othersConvId}/messages`, body: { text: "what is a stack?" }, status: 404, code: "not_found" },
  },
  {
    name: "a conversation that does not exist",
    frame: JSON.stringify({ type: "get_conversation", conversation_id: "00000000-0000-7000-8000-000000000000" }),
    code: "not_found",
    rest: { method: "GET", path: () => "/api/conversations/00000000-0000-7000-8000-000000000000", status: 404, code: "not_found" },
  },
];

// Frames naming the other user's conversation are built once ids exist.
function frameOf(c: Case): string | Buffer {
  if (c.frame !== "") return c.frame;
  if (c.name.includes("(get)")) return JSON.stringify({ type: "get_conversation", conversation_id: othersConvId });
  if (c.name.includes("(rename)")) return JSON.stringify({ type: "rename_conversation", conversation_id: othersConvId, title: "mine now" });
  if (c.name.includes("(delete)")) return JSON.stringify({ type: "delete_conversation", conversation_id: othersConvId });
  return JSON.stringify({ type: "text_input", conversation_id: othersConvId, text: "what is a stack?" });
}

describe("bad input over the WebSocket", () => {
  it.each(cases)("$name -> $code, connection open, nothing stored", async (c) => {
    const before = await snapshot();
    const from = ws.messages.length;
    ws.sendRaw(frameOf(c));
    const reply = await ws.waitFor((m) => m.type === "error", 10_000, from);
    expect(reply.code).toBe(c.code);
    expect(typeof reply.message).toBe("string");
    expect((await ws.request({ type: "ping" })).type).toBe("pong");
    expect(await snapshot()).toBe(before);
  });

  it("keeps the request_id on an error reply", async () => {
    const r = await ws.request({ type: "text_input", text: 5 });
    expect(r).toMatchObject({ type: "error", code: "invalid_message" });
  });

  it("checks in the documented order: shape before authentication", async () => {
    const anon = await WsClient.connect(srv.wsUrl);
    const r1 = await anon.request({ type: "nope" });
    expect(r1.code).toBe("unknown_type");
    const r2 = await anon.request({ type: "text_input", text: 5 });
    expect(r2.code).toBe("invalid_message");
    const r3 = await anon.request({ type: "text_input", text: "what is a heap?" });
    expect(r3.code).toBe("unauthenticated");
    anon.sendRaw("{");
    expect((await anon.waitFor((m) => m.code === "bad_json")).code).toBe("bad_json");
    expect((await anon.request({ type: "ping" })).type).toBe("pong");
    await anon.close();
  });

  it("answers audio on a server without speech recognition with what to configure, and stays open", async () => {
    // This server has no STT (voice_*.test.ts cover a server with one).
    const from = ws.messages.length;
    ws.sendRaw(Buffer.alloc(640), true);
    const err = await ws.waitFor((m) => m.type === "error", 5_000, from);
    expect(err.code).toBe("invalid_message");
    expect(err.message).toMatch(/speech recognition.*GROQ_API_KEY.*STT_BASE_URL/);
    const start = await ws.request({ type: "audio_start", sample_rate: 16000, encoding: "pcm_s16le" });
    expect(start).toMatchObject({ type: "error", code: "invalid_message", message: err.message });
    expect((await ws.request({ type: "ping" })).type).toBe("pong");
    // ... and /api/config tells the web app to use the browser's own recognition.
    expect(((await rest("GET", "/api/config", undefined, { auth: null })).body as unknown as { stt: unknown }).stt).toEqual({ provider: "browser" });
  });

  it("stores titles full of SQL, HTML, emoji and other scripts verbatim", async () => {
    const titles = ["'); DROP TABLE conversations; --", "<script>alert(1)</script>", "🌳🚀 деревья 二分探索木 שלום", "Robert'); --\u0000x".replace("\u0000", "")];
    for (const title of titles) {
      const r = await ws.request({ type: "rename_conversation", conversation_id: convId, title }, "conversation_updated");
      expect((r.conversation as { title: string }).title).toBe(title);
      const got = await rest("GET", `/api/conversations/${convId}`);
      expect((got.body as unknown as { conversation: { title: string } }).conversation.title).toBe(title);
    }
  });
});

describe("the matching REST routes", () => {
  it.each(cases.filter((c) => c.rest))("$name -> HTTP $rest.status $rest.code, nothing stored", async (c) => {
    const before = await snapshot();
    const r = c.rest!;
    const res = await rest(r.method, r.path(), r.body, { raw: r.raw });
    expect(res.status).toBe(r.status);
    expect(res.body?.error?.code).toBe(r.code);
    expect(typeof res.body?.error?.message).toBe("string");
    expect(await snapshot()).toBe(before);
  });

  it("refuses a missing, tampered or revoked token with 401 unauthenticated", async () => {
    expect((await rest("GET", "/api/conversations", undefined, { auth: null })).status).toBe(401);
    const tampered = token.slice(0, -2) + (token.endsWith("A") ? "BB" : "AA");
    const r = await rest("GET", "/api/conversations", undefined, { auth: tampered });
    expect(r.status).toBe(401);
    expect(r.body?.error?.code).toBe("unauthenticated");
  });

  it("answers an unknown API route with a JSON not_found", async () => {
    const r = await rest("GET", "/api/nothing-here");
    expect(r.status).toBe(404);
    expect(r.body?.error?.code).toBe("not_found");
  });
});
