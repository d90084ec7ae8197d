// The web app's side of bounded replies and ended access: older messages page
// in as the student scrolls up, a summary pushed from another tab fetches the
// open conversation's new messages, and a sign-in ended by the server goes
// back to the sign-in screen with the reason.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Conversation, Message } from "@tutor/protocol";
import { answerVerify, signedInStorage, testController, testConversation } from "../test-fixtures.js";
import type { FakeSocket } from "../test-socket.js";
import type { AppController } from "./controller.js";
import { mergePage } from "./reducer.js";

const T0 = Date.parse("2026-11-24T10:00:00.000Z");

function msgs(from: number, to: number): Message[] {
  return Array.from({ length: to - from }, (_, k) => {
    const i = from + k;
    return { id: `m${String(i).padStart(4, "0")}`, type: i % 2 ? "ai" : "user", content: `message ${i}`, timestamp: new Date(T0 + i * 1000).toISOString() };
  });
}

function page(messages: Message[], total: number, hasMore: boolean): Conversation {
  return testConversation({ id: "c1", title: "Long course", messages, message_count: total, has_more: hasMore });
}

const synth = { getVoices: () => [], speak() {}, cancel() {}, addEventListener() {}, removeEventListener() {} };
let app: AppController;

beforeEach(() => {
  signedInStorage();
  app = testController({ fastReconnect: true, synth, pollMs: 20, path: () => "/" });
  app.start();
});
afterEach(() => app.shutdown());

async function signedInWithLongConversation(): Promise<FakeSocket> {
  const sock = await answerVerify(app);
  const list = sock.lastOf("list_conversations");
  sock.push({ type: "conversations_list", conversations: [], next_cursor: null, teaching_mode: "qa", request_id: list.request_id! });
  const opening = app.openConversation("c1");
  const get = sock.lastOf("get_conversation");
  sock.push({ type: "conversation_data", conversation: page(msgs(200, 300), 300, true), request_id: get.request_id! });
  await opening;
  return sock;
}

describe("paging in the web app", () => {
  it("loads the page before the oldest shown message and puts it in front, until there is no more", async () => {
    const sock = await signedInWithLongConversation();
    expect(app.state.current?.messages).toHaveLength(100);

    const older = app.loadOlder();
    const req = sock.lastOf("get_conversation");
    expect(req).toMatchObject({ conversation_id: "c1", before: "m0200" });
    sock.push({ type: "conversation_data", conversation: page(msgs(100, 200), 300, true), request_id: req.request_id! });
    await older;
    expect(app.state.current?.messages.map((m) => m.id)).toEqual(msgs(100, 300).map((m) => m.id));
    expect(app.state.current?.has_more).toBe(true);

    const oldest = app.loadOlder();
    const req2 = sock.lastOf("get_conversation");
    expect(req2.before).toBe("m0100");
    sock.push({ type: "conversation_data", conversation: page(msgs(0, 100), 300, false), request_id: req2.request_id! });
    await oldest;
    expect(app.state.current?.messages.map((m) => m.id)).toEqual(msgs(0, 300).map((m) => m.id));
    expect(app.state.current?.has_more).toBe(false);

    // Nothing more to ask for.
    const sent = sock.sent.length;
    await app.loadOlder();
    expect(sock.sent.length).toBe(sent);
  });

  it("fetches the open conversation's new messages when another tab's turn is pushed, keeping the older pages", async () => {
    const sock = await signedInWithLongConversation();
    const older = app.loadOlder();
    const req = sock.lastOf("get_conversation");
    sock.push({ type: "conversation_data", conversation: page(msgs(100, 200), 300, true), request_id: req.request_id! });
    await older;

    // Another tab asked a question and got an answer: only the summary arrives here.
    const summary = page(msgs(0, 302), 302, false);
    const { messages: _m, has_more: _h, ...pushed } = summary;
    sock.push({ type: "conversation_updated", conversation: pushed });
    await vi.waitFor(() => expect(sock.lastOf("get_conversation").before).toBeUndefined());
    const refetch = sock.lastOf("get_conversation");
    expect(refetch.request_id).not.toBe(req.request_id);
    sock.push({ type: "conversation_data", conversation: page(msgs(202, 302), 302, true), request_id: refetch.request_id! });
    await vi.waitFor(() => expect(app.state.current?.messages).toHaveLength(202));
    expect(app.state.current?.messages.map((m) => m.id)).toEqual(msgs(100, 302).map((m) => m.id));
    expect(app.state.current?.has_more).toBe(true);
    expect(app.state.current?.message_count).toBe(302);
  });

  it("does not refetch after its own turn (the summary matches what it shows)", async () => {
    const sock = await signedInWithLongConversation();
    const sent = sock.sent.filter((m) => m.type === "get_conversation").length;
    const { messages: _m, has_more: _h, ...same } = page(msgs(200, 300), 300, true);
    sock.push({ type: "conversation_updated", conversation: { ...same, title: "Renamed elsewhere" } });
    await new Promise((r) => setTimeout(r, 20));
    expect(sock.sent.filter((m) => m.type === "get_conversation").length).toBe(sent);
    expect(app.state.current?.title).toBe("Renamed elsewhere");
  });
});

describe("ended sign-in", () => {
  it("goes back to the sign-in screen with the reason and forgets the token", async () => {
    const sock = await signedInWithLongConversation();
    sock.push({ type: "session_ended", reason: "logout" });
    await vi.waitFor(() => expect(app.state.auth.status).toBe("signed_out"));
    expect(app.state.current).toBeNull();
    expect(localStorage.getItem("tutor.session")).toBeNull();
    expect(app.state.notices.map((n) => n.text).join(" ")).toMatch(/signed out/i);
  });

  it("says when the session expired", async () => {
    const sock = await signedInWithLongConversation();
    sock.push({ type: "session_ended", reason: "expired" });
    await vi.waitFor(() => expect(app.state.auth.status).toBe("signed_out"));
    expect(app.state.notices.map((n) => n.text).join(" ")).toMatch(/expired/i);
  });
});

describe("mergePage", () => {
  it("starts over from a newest page that does not overlap what is shown", () => {
    const shown = page(msgs(0, 100), 100, false);
    const newer = page(msgs(300, 400), 400, true);
    expect(mergePage(shown, newer)).toBe(newer);
  });
});
