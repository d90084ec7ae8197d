// A student in a real LiveKit room, served by our agent worker: the protocol
// over the data channel (topic `tutor`), the token route, and who the agent
// agrees to serve. Needs the LiveKit server binary (skips without it, fails
// under REQUIRE_SERVICES=1).
import { dispose } from "@livekit/rtc-node";
import { RoomServiceClient, TokenVerifier } from "livekit-server-sdk";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { behave, startFakeLlm, type FakeLlm } from "@tutor/testkit";
import { FAST_MODEL, MAIN_MODEL, startTestServer, type TestServer } from "@tutor/server/test-helpers";
import { DEV_KEY, DEV_SECRET, Student, liveKitServerOrSkip, startAgent, startLiveKit, type AgentProcess, type LiveKitServer } from "./test-harness.js";

const bin = liveKitServerOrSkip();

const YES = behave.compute((r) => (/title/i.test(JSON.stringify(r.messages)) ? "Binary Search Trees" : "YES"));
const BST_ANSWER =
  "A binary search tree keeps smaller keys to the left and larger keys to the right. Lookups walk down one path. Balanced trees keep that path short.";

describe.skipIf(!bin)("LiveKit transport", { timeout: 120_000 }, () => {
  let lk: LiveKitServer;
  let fake: FakeLlm;
  let srv: TestServer;
  let agent: AgentProcess;
  let userSeq = 0;
  const students: Student[] = [];

  beforeAll(async () => {
    lk = await startLiveKit(bin!);
    fake = await startFakeLlm({ models: [MAIN_MODEL, FAST_MODEL] });
    fake.setDefault(FAST_MODEL, YES);
    const env = { LIVEKIT_URL: lk.url, LIVEKIT_API_KEY: DEV_KEY, LIVEKIT_API_SECRET: DEV_SECRET };
    srv = await startTestServer({ fake, env });
    // The worker reads the same configuration as the server (same DATA_DIR, same model server).
    agent = await startAgent(
      {
        ...env,
        DATA_DIR: srv.dataDir,
        LLM_BASE_URL: fake.url,
        LLM_API_KEY: "test-key",
        LLM_MODELS: `${MAIN_MODEL},${FAST_MODEL}`,
        LLM_FAST_MODEL: FAST_MODEL,
        LOG_LEVEL: "info",
      },
      ["--health-port", "0"],
    );
  });

  // Leaving ends the room's job, so the worker's capacity is not used up by finished tests.
  afterEach(async () => {
    for (const s of students.splice(0)) await s.leave().catch(() => undefined);
  });

  afterAll(async () => {
    if (process.env.AGENT_LOG) (await import("node:fs")).writeFileSync(process.env.AGENT_LOG, (agent?.output() ?? "") + "\n=====LK\n" + lk?.output());
    for (const s of students) await s.leave().catch(() => undefined);
    await agent?.stop();
    await srv?.close();
    await fake?.close();
    await lk?.stop();
    await dispose();
  });

  async function register(): Promise<{ token: string; userId: string }> {
    const r = await fetch(`${srv.url}/api/auth/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: `lkstudent${process.pid}_${++userSeq}`, password: "correct horse battery" }),
    });
    expect(r.status).toBe(201);
    const body = (await r.json()) as { token: string; user: { id: string } };
    return { token: body.token, userId: body.user.id };
  }

  async function liveKitToken(bearer: string) {
    const r = await fetch(`${srv.url}/api/livekit/token`, { method: "POST", headers: { authorization: `Bearer ${bearer}` } });
    return { status: r.status, body: (await r.json()) as { url: string; token: string; room: string; expires_at: string; error?: { code: string } } };
  }

  async function joinedStudent(): Promise<{ student: Student; userId: string; bearer: string }> {
    const { token: bearer, userId } = await register();
    const { status, body } = await liveKitToken(bearer);
    expect(status).toBe(200);
    const student = new Student();
    students.push(student);
    await student.join(body.url, body.token);
    return { student, userId, bearer };
  }

  it("gives a signed-in user a short-lived token for a room of their own", async () => {
    const { token, userId } = await register();
    const a = await liveKitToken(token);
    const b = await liveKitToken(token);
    expect(a.status).toBe(200);
    expect(a.body.url).toBe(lk.url);
    expect(a.body.room).not.toBe(b.body.room);
    const claims = await new TokenVerifier(DEV_KEY, DEV_SECRET).verify(a.body.token);
    expect(claims.sub).toContain(userId);
    expect(claims.attributes?.["tutor.user_id"]).toBe(userId);
    expect(claims.video).toMatchObject({ room: a.body.room, roomJoin: true, canPublishData: true, canSubscribe: true });
    expect(claims.video?.roomAdmin).toBeFalsy();
    expect(claims.video?.roomCreate).toBeFalsy();
    expect(claims.video?.canUpdateOwnMetadata).toBeFalsy();
    const ttl = Date.parse(a.body.expires_at) - Date.now();
    expect(ttl).toBeGreaterThan(30_000);
    expect(ttl).toBeLessThanOrEqual(10 * 60_000);
    expect(Math.abs((claims.exp ?? 0) * 1000 - Date.parse(a.body.expires_at))).toBeLessThan(2000);
    // Nobody will join these two: close them so their agents leave now.
    const rooms = new RoomServiceClient(lk.url.replace(/^ws/, "http"), DEV_KEY, DEV_SECRET);
    await Promise.all([rooms.deleteRoom(a.body.room), rooms.deleteRoom(b.body.room)]);
  });

  it("refuses a token to someone who is not signed in", async () => {
    const r = await liveKitToken("not-a-token");
    expect(r.status).toBe(401);
    expect(r.body.error?.code).toBe("unauthenticated");
  });

  it("answers a text question over the data channel: streamed deltas, the answer, then speech", async () => {
    const { student } = await joinedStudent();
    fake.script(MAIN_MODEL, behave.reply(BST_ANSWER, { chunkDelayMs: 5 }));
    const final = await student.request({ type: "text_input", text: "What is a binary search tree?", teaching_mode: "qa" }, "ai_response", 60_000);
    await student.waitFor((m) => m.type === "conversation_data" && m.request_id === final.request_id, 30_000);
    const msgs = student.replies(final.request_id as string);
    const types = msgs.map((m) => m.type);
    expect(types[0]).toBe("user_message");
    const deltas = msgs.filter((m) => m.type === "ai_response_delta");
    expect(deltas.length).toBeGreaterThan(3);
    expect(deltas.map((d) => d.delta).join("")).toBe(BST_ANSWER);
    expect(types.indexOf("ai_response_delta")).toBeLessThan(types.indexOf("ai_response"));
    expect(final.text).toBe(BST_ANSWER);
    const speech = student.messages.filter((m) => m.type === "web_tts" && m.message_id === final.message_id);
    expect(speech[0]?.text).toBe("A binary search tree keeps smaller keys to the left and larger keys to the right.");
    expect(speech.map((m) => m.seq)).toEqual(speech.map((_, i) => i));
  });

  it("keeps the conversation in the same store the web app reads", async () => {
    const { student, bearer } = await joinedStudent();
    fake.script(MAIN_MODEL, behave.reply(BST_ANSWER));
    const final = await student.request({ type: "text_input", text: "What is a binary search tree?", teaching_mode: "qa" }, "ai_response", 60_000);
    await student.waitFor((m) => m.type === "conversation_data" && m.request_id === final.request_id, 30_000);
    const r = await fetch(`${srv.url}/api/conversations/${final.conversation_id as string}`, { headers: { authorization: `Bearer ${bearer}` } });
    const { conversation } = (await r.json()) as { conversation: { messages: { type: string; content: string }[] } };
    expect(conversation.messages.map((m) => [m.type, m.content])).toEqual([
      ["user", "What is a binary search tree?"],
      ["ai", BST_ANSWER],
    ]);
  });

  it("answers ping with pong, and bad JSON with bad_json without ending the session", async () => {
    const { student } = await joinedStudent();
    const pong = await student.request({ type: "ping" }, "pong");
    expect(pong.type).toBe("pong");
    const from = student.messages.length;
    await student.sendRaw("{not json");
    const err = await student.waitFor((m) => m.type === "error", 30_000, from);
    expect(err.code).toBe("bad_json");
    await student.send({ type: "no_such_thing" });
    expect((await student.waitFor((m) => m.type === "error" && m.code !== "bad_json", 30_000, from)).code).toBe("unknown_type");
    const list = await student.request({ type: "list_conversations" }, "conversations_list");
    expect(list.conversations).toEqual([]);
  });

  it("serves the user the room was made for without an auth_request", async () => {
    const { student, userId } = await joinedStudent();
    const created = await student.request({ type: "new_conversation", teaching_mode: "teacher" }, "conversation_data");
    expect((created.conversation as { id: string }).id).toBeTruthy();
    const list = await student.request({ type: "list_conversations" }, "conversations_list");
    expect((list.conversations as unknown[]).length).toBe(1);
    expect(userId).toBeTruthy();
  });

  it("stops the answer when the student cancels (barge-in over the data channel)", async () => {
    const { student } = await joinedStudent();
    fake.script(MAIN_MODEL, behave.reply("Recursion is a function calling itself. ".repeat(40), { chunkDelayMs: 50 }));
    const from = student.messages.length;
    await student.send({ type: "text_input", text: "Explain recursion in depth", teaching_mode: "qa", request_id: "long" });
    await student.waitFor((m) => m.type === "ai_response_delta", 60_000, from);
    await student.send({ type: "cancel_response" });
    const final = await student.waitFor((m) => m.type === "ai_response" && m.request_id === "long", 30_000, from);
    expect(final.cancelled).toBe(true);
    expect((final.text as string).length).toBeLessThan("Recursion is a function calling itself. ".length * 40);
  });

  it("does not serve a room whose sign-in was ended before the student joined", async () => {
    const { token: bearer } = await register();
    const { body } = await liveKitToken(bearer);
    const out = await fetch(`${srv.url}/api/auth/logout`, { method: "POST", headers: { authorization: `Bearer ${bearer}` } });
    expect(out.status).toBe(204);
    const student = new Student();
    students.push(student);
    await student.join(body.url, body.token);
    const err = await student.waitFor((m) => m.type === "error", 30_000);
    expect(err.code).toBe("unauthenticated");
    await student.send({ type: "list_conversations", request_id: "after" });
    await new Promise((r) => setTimeout(r, 1500));
    expect(student.messages.some((m) => m.request_id === "after")).toBe(false);
  });
});
