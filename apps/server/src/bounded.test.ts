// Nothing the server sends grows with a conversation: get_conversation and the
// REST routes answer one page of messages (before-cursor, has_more), and a
// turn or a rename pushes only the summary (conversation_updated) to every
// connection of the owner.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { behave, startFakeLlm, type FakeLlm } from "@tutor/testkit";
import { ask, FAST_MODEL, MAIN_MODEL, signUp, startTestServer, WsClient, type TestServer } from "./test-helpers.js";

let fake: FakeLlm;
let srv: TestServer;

beforeAll(async () => {
  fake = await startFakeLlm({ models: [MAIN_MODEL, FAST_MODEL] });
  fake.setDefault(FAST_MODEL, behave.reply("YES"));
  fake.setDefault(MAIN_MODEL, behave.reply("A heap keeps the smallest key on top."));
  srv = await startTestServer({ fake });
});
afterAll(async () => {
  await srv?.close();
  await fake?.close();
});

/** A conversation of `n` stored messages (a long course), written straight to the store. */
async function longConversation(userId: string, n: number): Promise<{ id: string; ids: string[] }> {
  const store = srv.server.ctx.store;
  const conv = await store.createConversation(userId, { teachingMode: "teacher", title: "Data structures course" });
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const m = await store.addMessage(userId, conv.id, { type: i % 2 ? "ai" : "user", content: `message ${i} ` + "about heaps and trees. ".repeat(20) });
    ids.push(m!.id);
  }
  return { id: conv.id, ids };
}

describe("bounded replies", () => {
  it("pages get_conversation over the WebSocket: newest page first, older pages with before, has_more", async () => {
    const c = await WsClient.connect(srv.wsUrl);
    const { userId } = await signUp(c);
    const conv = await longConversation(userId, 300);

    const first = (await c.request({ type: "get_conversation", conversation_id: conv.id }, "conversation_data")).conversation as {
      messages: { id: string }[];
      has_more: boolean;
      message_count: number;
    };
    expect(first.messages.map((m) => m.id)).toEqual(conv.ids.slice(200));
    expect(first.has_more).toBe(true);
    expect(first.message_count).toBe(300);

    const got: string[] = first.messages.map((m) => m.id);
    let before = got[0];
    let hasMore = first.has_more;
    while (hasMore) {
      const page = (await c.request({ type: "get_conversation", conversation_id: conv.id, limit: 200, before }, "conversation_data"))
        .conversation as { messages: { id: string }[]; has_more: boolean };
      got.unshift(...page.messages.map((m) => m.id));
      hasMore = page.has_more;
      before = page.messages[0]?.id;
    }
    expect(got).toEqual(conv.ids);

    // More than 200 at once is refused, like any field of the wrong shape.
    expect(await c.request({ type: "get_conversation", conversation_id: conv.id, limit: 201 })).toMatchObject({ type: "error", code: "invalid_message" });
    // A cursor that is not a message of this conversation is not found.
    expect(await c.request({ type: "get_conversation", conversation_id: conv.id, before: "nope" })).toMatchObject({ type: "error", code: "not_found" });
    await c.close();
  });

  it("pages the REST messages route and the conversation route the same way", async () => {
    const c = await WsClient.connect(srv.wsUrl);
    const { userId, token } = await signUp(c);
    const conv = await longConversation(userId, 250);
    const get = async (path: string) =>
      (await (await fetch(`${srv.url}${path}`, { headers: { authorization: `Bearer ${token}` } })).json()) as Record<string, unknown>;

    const whole = (await get(`/api/conversations/${conv.id}`)).conversation as { messages: { id: string }[]; has_more: boolean };
    expect(whole.messages).toHaveLength(100);
    expect(whole.has_more).toBe(true);

    const got: string[] = [];
    let before: string | undefined;
    for (;;) {
      const page = (await get(`/api/conversations/${conv.id}/messages?limit=60${before ? `&before=${before}` : ""}`)) as {
        messages: { id: string }[];
        has_more: boolean;
      };
      got.unshift(...page.messages.map((m) => m.id));
      if (!page.has_more) break;
      before = page.messages[0]!.id;
    }
    expect(got).toEqual(conv.ids);
    const tooMany = await fetch(`${srv.url}/api/conversations/${conv.id}/messages?limit=500`, { headers: { authorization: `Bearer ${token}` } });
    expect(tooMany.status).toBe(400);
    await c.close();
  });

  it("after a turn on a long conversation pushes only the summary, to this and the user's other connections", async () => {
    const a = await WsClient.connect(srv.wsUrl);
    const { userId, token } = await signUp(a);
    const b = await WsClient.connect(srv.wsUrl);
    await b.request({ type: "auth_request", data: { type: "verify", token } }, "auth_response");
    const conv = await longConversation(userId, 260);

    const bFrom = b.messages.length;
    const rawSizes: number[] = [];
    a.ws.on("message", (data, binary) => {
      if (!binary) rawSizes.push(String(data).length);
    });
    const turn = await ask(a, { text: "What is a heap?", conversation_id: conv.id });
    expect(turn.some((m) => m.type === "conversation_data")).toBe(false);
    const updated = turn.find((m) => m.type === "conversation_updated")!;
    expect(updated.conversation).toMatchObject({ id: conv.id, message_count: 262, last_message: { type: "ai", content: "A heap keeps the smallest key on top." } });
    expect(updated.conversation).not.toHaveProperty("messages");
    // The conversation holds ~130 KB of text; nothing sent for the turn comes near it.
    expect(Math.max(...rawSizes)).toBeLessThan(2_000);

    const pushed = await b.waitFor((m) => m.type === "conversation_updated" && (m.conversation as { id: string }).id === conv.id, 5_000, bFrom);
    expect(pushed.conversation).toEqual(updated.conversation);
    expect(JSON.stringify(pushed).length).toBeLessThan(2_000);
    // The other connection hears of the turn only through the summary (not the streamed text).
    expect(b.messages.slice(bFrom).map((m) => m.type)).toEqual(["conversation_updated"]);
    await Promise.all([a.close(), b.close()]);
  });

  it("closes a connection that stops reading once its send buffer passes 4 MiB, with close code 4008; others go on", async () => {
    const c = await WsClient.connect(srv.wsUrl);
    const { userId } = await signUp(c);
    const conv = await longConversation(userId, 200);
    // The client stops reading from its socket, then keeps asking for ~95 KB pages.
    const tcp = (c.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    tcp.pause();
    for (let i = 0; i < 200; i++) c.send({ type: "get_conversation", conversation_id: conv.id, limit: 200 });
    await new Promise((r) => setTimeout(r, 1_500));
    tcp.resume();
    expect((await c.closed).code).toBe(4008);
    // Far fewer than the 200 pages asked for were queued for it.
    expect(c.messages.filter((m) => m.type === "conversation_data").length).toBeLessThan(150);

    const other = await WsClient.connect(srv.wsUrl);
    expect((await other.request({ type: "ping" }, "pong")).type).toBe("pong");
    await other.close();
  });
});
