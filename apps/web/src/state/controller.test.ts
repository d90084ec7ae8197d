// The controller, reducer, protocol client and speech engine together, with
// the server played through an in-memory WebSocket and speechSynthesis
// replaced by a recorder (both are browser APIs the app only consumes).
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Conversation, ServerMessage } from "@tutor/protocol";
import { answerVerify, FakeUtterance, RecordingSynth, signedInStorage, testController, testConversation, TEST_USER } from "../test-fixtures.js";
import { FakeSocket } from "../test-socket.js";
import type { AppController } from "./controller.js";
import { selectStream } from "./reducer.js";

const conv = (id: string, messages: Conversation["messages"]) => testConversation({ id, title: "Recursion", messages });

const question = { id: "m1", type: "user" as const, content: "What is recursion?", timestamp: new Date().toISOString() };

let synth: RecordingSynth;
let app: AppController;

let path = "/";

function setup() {
  synth = new RecordingSynth();
  app = testController({ fastReconnect: true, synth, pollMs: 20, path: () => path });
  app.start();
}

/** Open the socket and answer the verify request. */
async function connectSignedIn(): Promise<FakeSocket> {
  const sock = await answerVerify(app);
  const list = sock.lastOf("list_conversations");
  sock.push({ type: "conversations_list", conversations: [], next_cursor: null, teaching_mode: "qa", request_id: list.request_id! });
  return sock;
}

async function openRecursion(sock: FakeSocket, messages: Conversation["messages"]): Promise<void> {
  const opening = app.openConversation("c1");
  const get = sock.lastOf("get_conversation");
  sock.push({ type: "conversation_data", conversation: conv("c1", messages), request_id: get.request_id! });
  await opening;
}

beforeEach(() => {
  path = "/";
  signedInStorage();
  (globalThis as unknown as { SpeechSynthesisUtterance: unknown }).SpeechSynthesisUtterance = FakeUtterance;
  setup();
});

afterEach(() => app.shutdown());

describe("connection", () => {
  it("verifies the stored token again after a reconnect, then reloads the open conversation", async () => {
    const first = await connectSignedIn();
    await openRecursion(first, [question]);
    first.drop();
    expect(app.state.ready).toBe(false);
    await vi.waitFor(() => expect(FakeSocket.all).toHaveLength(2));
    const second = FakeSocket.last;
    second.open();
    // Nothing but the verification goes out before the server knows us again.
    expect(second.sent.map((m) => m.type)).toEqual(["auth_request"]);
    const verify = second.lastOf("auth_request");
    second.push({ type: "auth_response", action: "verify", success: true, user: TEST_USER, token: "tok", request_id: verify.request_id! });
    await vi.waitFor(() => expect(second.sent.map((m) => m.type)).toContain("get_conversation"));
    expect(second.lastOf("get_conversation").conversation_id).toBe("c1");
    expect(app.state.ready).toBe(true);
  });

  it("replaces an answer cut by a disconnect with the stored one", async () => {
    const first = await connectSignedIn();
    await openRecursion(first, [question]);
    first.push({ type: "ai_response_delta", conversation_id: "c1", message_id: "a1", delta: "Recursion is " });
    await vi.waitFor(() => expect(selectStream(app.state)?.text).toBe("Recursion is "));
    first.drop();
    expect(selectStream(app.state)?.interrupted).toBe(true);

    await vi.waitFor(() => expect(FakeSocket.all).toHaveLength(2));
    const second = FakeSocket.last;
    second.open();
    const verify = second.lastOf("auth_request");
    second.push({ type: "auth_response", action: "verify", success: true, user: TEST_USER, token: "tok", request_id: verify.request_id! });
    // Stored conversation does not have the answer yet: keep waiting, ask again.
    const gets = () => second.sent.filter((m) => m.type === "get_conversation").length;
    await vi.waitFor(() => expect(gets()).toBeGreaterThanOrEqual(1));
    second.push({ type: "conversation_data", conversation: conv("c1", [question]), request_id: second.lastOf("get_conversation").request_id! });
    expect(app.state.awaitingStored.c1).toBe(true);
    expect(selectStream(app.state)?.text).toBe("Recursion is ");
    const asked = gets();
    await vi.waitFor(() => expect(gets()).toBeGreaterThan(asked));
    const answer = { id: "a1", type: "ai" as const, content: "Recursion is a function calling itself.", timestamp: new Date().toISOString(), model: "m" };
    second.push({ type: "conversation_data", conversation: conv("c1", [question, answer]), request_id: second.lastOf("get_conversation").request_id! });
    expect(selectStream(app.state)).toBeNull();
    expect(app.state.awaitingStored.c1).toBeUndefined();
    expect(app.state.current?.messages.at(-1)?.content).toBe("Recursion is a function calling itself.");
  });

  it("signs out when the stored token is no longer valid", async () => {
    const sock = FakeSocket.last;
    sock.open();
    const verify = sock.lastOf("auth_request");
    sock.push({ type: "auth_response", action: "verify", success: false, error: "token expired", error_type: "token_expired", request_id: verify.request_id! });
    await vi.waitFor(() => expect(app.state.auth.status).toBe("signed_out"));
    expect(localStorage.getItem("tutor.session")).toBeNull();
    expect(app.state.notices.map((n) => n.text)).toContain("Your session has ended. Please sign in again.");
  });
});

describe("address", () => {
  const signIn = () => answerVerify(app);

  it("opens the conversation the address names after sign-in, not the one shown last", async () => {
    localStorage.setItem("tutor.last", JSON.stringify({ u1: { qa: "c-last" } }));
    app.shutdown();
    path = "/c/c7";
    setup();
    const sock = await signIn();
    await vi.waitFor(() => expect(sock.lastOf("get_conversation").conversation_id).toBe("c7"));
    expect(sock.sent.filter((m) => m.type === "get_conversation")).toHaveLength(1);
    sock.push({ type: "conversation_data", conversation: conv("c7", [question]), request_id: sock.lastOf("get_conversation").request_id! });
    await vi.waitFor(() => expect(app.state.current?.id).toBe("c7"));
  });

  it("shows not-found for an unknown or foreign id, and a new conversation replaces it", async () => {
    app.shutdown();
    path = "/c/not-mine";
    setup();
    const sock = await signIn();
    await vi.waitFor(() => expect(sock.lastOf("get_conversation").conversation_id).toBe("not-mine"));
    sock.push({ type: "error", code: "not_found", message: "conversation not found", request_id: sock.lastOf("get_conversation").request_id! });
    await vi.waitFor(() => expect(app.state.missingId).toBe("not-mine"));
    expect(app.state.currentId).toBeNull();
    const creating = app.newConversation();
    const req = sock.lastOf("new_conversation");
    sock.push({ type: "conversation_data", conversation: conv("c-new", []), request_id: req.request_id! });
    await creating;
    expect(app.state.currentId).toBe("c-new");
    expect(app.state.missingId).toBeNull();
  });

  it("asks to bring a search result's message into view", async () => {
    const sock = await connectSignedIn();
    const opening = app.openConversation("c1", "m1");
    expect(app.state.focusMessageId).toBe("m1");
    sock.push({ type: "conversation_data", conversation: conv("c1", [question]), request_id: sock.lastOf("get_conversation").request_id! });
    await opening;
    expect(app.state.current?.id).toBe("c1");
    expect(app.state.focusMessageId).toBe("m1");
  });
});

describe("conversation list", () => {
  it("loads the next page with the cursor and appends it", async () => {
    const sock = await answerVerify(app);
    const summary = (id: string, minute: number) => {
      const { messages: _m, ...s } = conv(id, [{ ...question, id: `q-${id}`, timestamp: `2026-11-24T10:${String(minute).padStart(2, "0")}:00.000Z` }]);
      return s;
    };
    const first = sock.lastOf("list_conversations");
    expect(first).toMatchObject({ teaching_mode: "qa", limit: 20 });
    expect(first.cursor).toBeUndefined();
    sock.push({ type: "conversations_list", conversations: [summary("c3", 30), summary("c2", 20)], next_cursor: "cur-2", request_id: first.request_id! });
    await vi.waitFor(() => expect(app.state.list.items.map((c) => c.id)).toEqual(["c3", "c2"]));
    void app.loadList(false);
    const second = sock.lastOf("list_conversations");
    expect(second.cursor).toBe("cur-2");
    sock.push({ type: "conversations_list", conversations: [summary("c1", 10)], next_cursor: null, request_id: second.request_id! });
    await vi.waitFor(() => expect(app.state.list.items.map((c) => c.id)).toEqual(["c3", "c2", "c1"]));
    expect(app.state.list.nextCursor).toBeNull();
    const sentBefore = sock.sent.length;
    void app.loadList(false);
    expect(sock.sent).toHaveLength(sentBefore);
  });
});

describe("turns", () => {
  it("streams deltas in order and ends with the stored answer", async () => {
    const sock = await connectSignedIn();
    await openRecursion(sock, []);
    expect(app.ask("What is recursion?")).toBeNull();
    const sent = sock.lastOf("text_input");
    expect(sent).toMatchObject({ text: "What is recursion?", conversation_id: "c1", teaching_mode: "qa", speak: true });
    sock.push({ type: "user_message", conversation_id: "c1", message: question, request_id: sent.request_id! });
    for (const delta of ["A ", "function ", "that ", "calls ", "itself."]) {
      sock.push({ type: "ai_response_delta", conversation_id: "c1", message_id: "a1", delta, request_id: sent.request_id! });
    }
    await vi.waitFor(() => expect(selectStream(app.state)?.text).toBe("A function that calls itself."));
    sock.push({ type: "ai_response", conversation_id: "c1", message_id: "a1", text: "A function that calls itself.", model: "m", request_id: sent.request_id! });
    expect(selectStream(app.state)).toBeNull();
    expect(app.state.pending).toBeNull();
    expect(app.state.current?.messages.map((m) => m.content)).toEqual(["What is recursion?", "A function that calls itself."]);
  });

  it("refuses a 50,001-character question without sending it", async () => {
    const sock = await connectSignedIn();
    const before = sock.sent.length;
    expect(app.ask("x".repeat(50_001))).toBe("Your message is 50,001 characters; the limit is 50,000.");
    expect(sock.sent).toHaveLength(before);
  });

  it("shows a server error as a readable notice and clears the pending question", async () => {
    const sock = await connectSignedIn();
    await openRecursion(sock, []);
    app.ask("What is a heap?");
    const sent = sock.lastOf("text_input");
    sock.push({ type: "error", code: "rate_limited", message: "slow down", request_id: sent.request_id! });
    expect(app.state.pending).toBeNull();
    expect(app.state.notices.at(-1)?.text).toBe("You are going a little fast. Wait a moment and try again.");
  });

  it("sends a hidden instruction for an EXPLAIN chip", async () => {
    const sock = await connectSignedIn();
    await openRecursion(sock, [question]);
    expect(app.explain("base case")).toBeNull();
    const sent = sock.lastOf("text_input");
    expect(sent.hidden).toBe(true);
    expect(sent.conversation_id).toBe("c1");
    expect(sent.text).toContain('"base case"');
  });
});

describe("speech", () => {
  const tts = (seq: number, text: string, message_id = "a1"): ServerMessage => ({
    type: "web_tts",
    text,
    voice: "default",
    rate: 1,
    pitch: 1,
    message_id,
    seq,
  });

  it("speaks chunks one at a time in seq order", async () => {
    const sock = await connectSignedIn();
    sock.push(tts(0, "First."));
    sock.push(tts(2, "Third."));
    sock.push(tts(1, "Second."));
    expect(synth.spoken).toEqual(["First."]);
    expect(app.speech.getSnapshot().speaking).toBe(true);
    synth.finish();
    synth.finish();
    synth.finish();
    expect(synth.spoken).toEqual(["First.", "Second.", "Third."]);
    expect(app.speech.getSnapshot().speaking).toBe(false);
  });

  it("Stop silences at once, cancels the answer and drops its later chunks", async () => {
    const sock = await connectSignedIn();
    await openRecursion(sock, [question]);
    sock.push({ type: "ai_response_delta", conversation_id: "c1", message_id: "a1", delta: "One. Two." });
    await vi.waitFor(() => expect(selectStream(app.state)).not.toBeNull());
    sock.push(tts(0, "One."));
    sock.push(tts(1, "Two."));
    app.stop();
    expect(synth.cancels).toBeGreaterThan(0);
    expect(app.speech.getSnapshot().speaking).toBe(false);
    expect(sock.lastOf("cancel_response").conversation_id).toBe("c1");
    sock.push(tts(2, "Three."));
    expect(synth.spoken).toEqual(["One."]);
  });

  it("a new question silences the previous answer", async () => {
    const sock = await connectSignedIn();
    await openRecursion(sock, [question]);
    sock.push(tts(0, "Old answer."));
    sock.push(tts(1, "Still old."));
    app.ask("Next question?");
    expect(synth.cancels).toBeGreaterThan(0);
    sock.push(tts(2, "Late old chunk."));
    sock.push(tts(0, "New answer.", "a2"));
    expect(synth.spoken).toEqual(["Old answer.", "New answer."]);
  });

  it("stops speaking when the server reports a barge-in", async () => {
    const sock = await connectSignedIn();
    sock.push(tts(0, "One."));
    sock.push(tts(1, "Two."));
    sock.push({ type: "barge_in", message_id: "a1" });
    expect(app.speech.getSnapshot().speaking).toBe(false);
    synth.finish();
    sock.push(tts(2, "Three."));
    expect(synth.spoken).toEqual(["One."]);
  });

  it("asks the server for no speech when it is switched off", async () => {
    const sock = await connectSignedIn();
    await openRecursion(sock, []);
    app.speech.setEnabled(false);
    app.ask("What is a queue?");
    expect(sock.lastOf("text_input").speak).toBe(false);
  });
});

describe("the server's own model (LOCAL_MODEL)", () => {
  it("tells the student it is being prepared, asks again while it is, and says when it is ready", async () => {
    const base = {
      stt: { provider: "browser" },
      tts: { provider: "web", default_voice: "default" },
      livekit: { enabled: false },
      limits: { max_text_chars: 50000, page_size: 20 },
      teaching_modes: ["teacher", "qa"],
    };
    const states = [
      { state: "downloading", progress: 43, message: "Preparing the tutor's model: 43%" },
      { state: "downloading", progress: 80, message: "Preparing the tutor's model: 80%" },
      { state: "ready" },
    ];
    let asked = 0;
    app.shutdown();
    app = testController({
      fastReconnect: true,
      synth,
      fetchImpl: async () => {
        const local = states[Math.min(asked++, states.length - 1)]!;
        return Response.json({ ...base, llm: { configured: true, provider: "local", models: ["qwen"], local: { model: "qwen", ...local } } });
      },
      pollMs: 20,
      path: () => path,
    });
    (app as unknown as { connection: { localPollMs: number } }).connection.localPollMs = 5;
    app.start();
    await connectSignedIn();
    await vi.waitFor(() => expect(app.state.notices.map((n) => n.text)).toContain("The tutor's model is ready."));
    const texts = app.state.notices.map((n) => n.text);
    expect(texts).toContain("Preparing the tutor's model: 43% — the tutor answers once it is ready.");
    // One notice per change of state, not one per poll.
    expect(texts.filter((t) => t.startsWith("Preparing"))).toHaveLength(1);
    // Asked again while preparing, and no more once ready.
    const after = asked;
    expect(after).toBeGreaterThanOrEqual(3);
    await new Promise((r) => setTimeout(r, 40));
    expect(asked).toBe(after);
  });
});
