// Drives every client message type of PROTOCOL.md over a real WebSocket
// against the real server (SQLite file, fake OpenAI-compatible LLM and
// transcription server; the voice suites go deeper into audio).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLIENT_MESSAGE_TYPES, serverMessages } from "@tutor/protocol";
import { behave, pcmFrames, silence, startFakeLlm, startFakeStt, type FakeLlm, type FakeStt } from "@tutor/testkit";
import { FAST_MODEL, MAIN_MODEL, WsClient, ask, signUp, startVoiceTestServer, type TestServer } from "./test-helpers.js";

let fake: FakeLlm;
let stt: FakeStt;
let srv: TestServer;

beforeAll(async () => {
  fake = await startFakeLlm({ models: [MAIN_MODEL, FAST_MODEL] });
  fake.setDefault(FAST_MODEL, behave.compute((r) => (/title/i.test(r.messages[0]?.content ?? "") ? "Binary Search Trees" : "YES")));
  stt = await startFakeStt();
  srv = await startVoiceTestServer(fake, stt);
});
afterAll(async () => {
  await srv?.close();
  await fake?.close();
  await stt?.close();
});

describe("every protocol message over /ws", () => {
  it("answers each client message type with the documented server messages", async () => {
    const seen = new Set<string>();
    const c = await WsClient.connect(srv.wsUrl);

    seen.add("ping");
    expect((await c.request({ type: "ping" })).type).toBe("pong");

    seen.add("auth_request");
    const username = `every_${Date.now()}`;
    const reg = await c.request({ type: "auth_request", data: { type: "register", username, password: "s3cret-password", email: "Every@Example.com" } });
    expect(reg).toMatchObject({ type: "auth_response", action: "register", success: true, user: { username, email: "every@example.com" } });
    const token = reg.token as string;
    expect(await c.request({ type: "auth_request", data: { type: "verify", token } })).toMatchObject({ action: "verify", success: true });
    const login = await c.request({ type: "auth_request", data: { type: "login", username, password: "s3cret-password" } });
    expect(login).toMatchObject({ action: "login", success: true });

    seen.add("new_conversation");
    const created = await c.request({ type: "new_conversation", teaching_mode: "qa" }, "conversation_data");
    const convId = (created.conversation as { id: string }).id;
    expect(created.conversation).toMatchObject({ teaching_mode: "qa", message_count: 0, messages: [] });
    // An empty conversation of the mode is reused, not duplicated.
    const again = await c.request({ type: "new_conversation", teaching_mode: "qa" }, "conversation_data");
    expect((again.conversation as { id: string }).id).toBe(convId);

    seen.add("text_input");
    fake.script(MAIN_MODEL, behave.reply("A binary search tree keeps smaller keys on the left. Lookups take O(log n) on average!", { chunkDelayMs: 2 }));
    const turn = await ask(c, { text: "What is a binary search tree?", conversation_id: convId });
    const types = turn.map((m) => m.type);
    expect(types[0]).toBe("user_message");
    expect(types).toContain("ai_response_delta");
    expect(types).toContain("tts_starting");
    expect(types).toContain("voice_info");
    expect(types).toContain("web_tts");
    expect(types).toContain("tts_complete");
    expect(types.indexOf("tts_starting")).toBeLessThan(types.indexOf("ai_response"));
    const answer = turn.find((m) => m.type === "ai_response")!;
    expect(answer).toMatchObject({ conversation_id: convId, model: MAIN_MODEL, text: expect.stringContaining("binary search tree") });
    const deltas = turn.filter((m) => m.type === "ai_response_delta").map((m) => m.delta).join("");
    expect(deltas).toBe(answer.text);

    seen.add("get_conversation");
    const got = await c.request({ type: "get_conversation", conversation_id: convId }, "conversation_data");
    const conv = got.conversation as { messages: { type: string; content: string; model?: string }[]; title: string };
    expect(conv.messages.map((m) => m.type)).toEqual(["user", "ai"]);
    expect(conv.messages[1]!.model).toBe(MAIN_MODEL);

    seen.add("list_conversations");
    const list = await c.request({ type: "list_conversations", teaching_mode: "qa", limit: 10 }, "conversations_list");
    expect(list.next_cursor).toBeNull();
    expect(list.conversations).toEqual([
      expect.objectContaining({ id: convId, message_count: 2, last_message: { type: "ai", content: answer.text } }),
    ]);

    seen.add("rename_conversation");
    const renamed = await c.request({ type: "rename_conversation", conversation_id: convId, title: "Trees <b>&</b> 🌳" }, "conversation_updated");
    expect((renamed.conversation as { title: string }).title).toBe("Trees <b>&</b> 🌳");

    seen.add("cancel_response");
    fake.script(MAIN_MODEL, behave.reply("Recursion is when a function calls itself. ".repeat(40), { chunkDelayMs: 30 }));
    const from = c.messages.length;
    c.send({ type: "text_input", text: "Explain recursion in Python functions", conversation_id: convId, request_id: "long" });
    await c.waitFor((m) => m.type === "ai_response_delta" && m.request_id === "long", 10_000, from);
    c.send({ type: "cancel_response", conversation_id: convId });
    const cancelled = await c.waitFor((m) => m.type === "ai_response" && m.request_id === "long", 10_000, from);
    expect(cancelled.cancelled).toBe(true);
    expect(String(cancelled.text).length).toBeGreaterThan(0);
    expect(String(cancelled.text).length).toBeLessThan(40 * 44);

    // Voice: audio_start opens a stream (no reply), binary frames carry the
    // microphone, audio_end closes it; a stream of silence is answered with an
    // empty final transcription and a polite error, and nothing is transcribed.
    seen.add("audio_start");
    seen.add("audio_end");
    seen.add("playback_state");
    const voiceFrom = c.messages.length;
    c.send({ type: "playback_state", speaking: true, message_id: "m1" });
    c.send({ type: "audio_start", sample_rate: 16000, encoding: "pcm_s16le", conversation_id: convId, request_id: "mic" });
    for (const frame of pcmFrames(silence(1_000), 20)) c.sendRaw(frame, true);
    c.send({ type: "playback_state", speaking: false });
    c.send({ type: "audio_end", request_id: "mic-end" });
    const heard = await c.waitFor((m) => m.type === "error" && m.request_id === "mic-end", 10_000, voiceFrom);
    expect(heard.code).toBe("invalid_message");
    expect(heard.message).toMatch(/didn't hear any speech/);
    expect(c.messages.slice(voiceFrom).map((m) => m.type)).toEqual(["transcription", "error"]);
    expect(c.messages[voiceFrom]).toMatchObject({ type: "transcription", text: "", final: true, request_id: "mic-end" });
    expect(stt.requests).toHaveLength(0);

    seen.add("exercise_submission");
    const forged = await c.request({
      type: "exercise_submission",
      conversation_id: convId,
      message_id: "not-an-answer",
      exercise_index: 0,
      language: "python",
      code: "x = 1",
      results: { passed: 1, failed: 0, total: 1, output: "" },
    });
    expect(forged).toMatchObject({ type: "error", code: "not_found" });

    seen.add("search_conversations");
    const found = await c.request({ type: "search_conversations", query: "recurs", limit: 5 }, "search_results");
    expect(found.query).toBe("recurs");
    expect(Array.isArray(found.results)).toBe(true);
    expect(await c.request({ type: "search_conversations", query: "***" })).toMatchObject({ type: "error", code: "invalid_message" });

    seen.add("delete_conversation");
    const other = await c.request({ type: "new_conversation", teaching_mode: "teacher" }, "conversation_data");
    const deleted = await c.request({ type: "delete_conversation", conversation_id: convId }, "conversation_deleted");
    expect(deleted.conversation_id).toBe(convId);
    expect(typeof deleted.current_conversation_id).toBe("string");
    expect(deleted.current_conversation_id).not.toBe(convId);
    expect(await c.request({ type: "get_conversation", conversation_id: convId })).toMatchObject({ type: "error", code: "not_found" });

    seen.add("clear_all_conversations");
    const cleared = await c.request({ type: "clear_all_conversations", teaching_mode: "teacher" }, "conversations_cleared");
    expect(cleared).toMatchObject({ teaching_mode: "teacher", deleted_count: 1 });
    expect(cleared.new_conversation_id).not.toBe((other.conversation as { id: string }).id);

    // logout revokes the token: verifying it again fails, and the socket is signed out.
    expect(await c.request({ type: "auth_request", data: { type: "logout" } })).toMatchObject({ action: "logout", success: true });
    expect(await c.request({ type: "list_conversations" })).toMatchObject({ type: "error", code: "unauthenticated" });
    expect(await c.request({ type: "auth_request", data: { type: "verify", token: login.token } })).toMatchObject({
      success: false,
      error_type: "token_invalid",
    });
    // The register token is a separate session and is still valid.
    expect(await c.request({ type: "auth_request", data: { type: "verify", token } })).toMatchObject({ success: true });

    expect([...seen].sort()).toEqual([...CLIENT_MESSAGE_TYPES].sort());
    // Every server message we received is valid against its schema.
    for (const m of c.messages) {
      const schema = serverMessages[m.type as keyof typeof serverMessages];
      expect(schema.safeParse(m).success, `${m.type}: ${JSON.stringify(m)}`).toBe(true);
    }
    await c.close();
  });

  it("pushes a conversation update to the same user's other connection", async () => {
    const a = await WsClient.connect(srv.wsUrl);
    const { token } = await signUp(a);
    const b = await WsClient.connect(srv.wsUrl);
    await b.request({ type: "auth_request", data: { type: "verify", token } });
    const created = await a.request({ type: "new_conversation", teaching_mode: "teacher" }, "conversation_data");
    const id = (created.conversation as { id: string }).id;
    await a.request({ type: "rename_conversation", conversation_id: id, title: "Shared title" }, "conversation_updated");
    const pushed = await b.waitFor((m) => m.type === "conversation_updated" && (m.conversation as { title: string }).title === "Shared title");
    expect(pushed.request_id).toBeUndefined();
    await a.close();
    await b.close();
  });

  it("improves the provisional title with the fast model and pushes it", async () => {
    const c = await WsClient.connect(srv.wsUrl);
    await signUp(c);
    fake.script(MAIN_MODEL, behave.reply("Sure. A BST is ordered."));
    const turn = await ask(c, { text: "could you please explain what a binary search tree is and why it is useful", teaching_mode: "qa" });
    const data = turn.find((m) => m.type === "conversation_updated")!;
    expect((data.conversation as { title: string }).title).toMatch(/^could you please explain what a binary search tree/);
    const improved = await c.waitFor((m) => m.type === "conversation_updated" && (m.conversation as { title: string }).title === "Binary Search Trees");
    expect(improved).toBeTruthy();
    await c.close();
  });
});
