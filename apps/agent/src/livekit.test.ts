// A student in a real LiveKit room, served by our agent worker: the token
// route and who the agent agrees to serve, the protocol over the data channel
// (topic `tutor`), and questions spoken into a published microphone track
// (espeak-ng speech -> WebRTC -> Silero VAD -> the fake transcription server
// -> a turn). Needs the LiveKit server binary (and espeak-ng + sox for the
// voice part): skips without them, fails under REQUIRE_SERVICES=1.
import { RoomServiceClient, TokenVerifier } from "livekit-server-sdk";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  behave,
  concatAudio,
  requireSpeechTools,
  silence,
  speak,
  startFakeStt,
  sttBehave,
  type FakeLlm,
  type FakeStt,
} from "@tutor/testkit";
import { FIXED_ANSWERS } from "@tutor/protocol";
import { MAIN_MODEL, type TestServer } from "@tutor/server/test-helpers";
import { DEV_KEY, DEV_SECRET, Student, childCommands, leaveAll, liveKitServerOrSkip, requestRoom, type AgentProcess, type LiveKitServer } from "./test-harness.js";
import { fakeSttEnv, startRoomStack, type RoomStack } from "./test-stack.js";

const bin = liveKitServerOrSkip();
const speech = requireSpeechTools();
const QUESTION = "What is a binary search tree?";

const BST_ANSWER =
  "A binary search tree keeps smaller keys to the left and larger keys to the right. Lookups walk down one path. Balanced trees keep that path short.";

describe.skipIf(!bin)("LiveKit transport", { timeout: 120_000 }, () => {
  let stack: RoomStack;
  let lk: LiveKitServer;
  let fake: FakeLlm;
  let stt: FakeStt;
  let srv: TestServer;
  let agent: AgentProcess;

  beforeAll(async () => {
    stt = await startFakeStt();
    stack = await startRoomStack(bin!, { prefix: "lkstudent", env: fakeSttEnv(stt) });
    ({ lk, fake, srv, agent } = stack);
  });

  // Leaving ends the room's job, so the worker's capacity is not used up by finished tests.
  afterEach(async () => {
    await leaveAll(stack.students);
  });

  afterAll(async () => {
    await stack?.close();
    await stt?.close();
  });

  const register = () => stack.register();
  const liveKitToken = (bearer: string) => requestRoom(srv.url, bearer);
  const joinedStudent = () => stack.joinedStudent();

  it("gives a signed-in user a short-lived token for a room of their own", async () => {
    const { bearer, userId } = await register();
    const a = await liveKitToken(bearer);
    const b = await liveKitToken(bearer);
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
    // One room per user: the second request closed the first room. Nobody will join the second: close it so its agent leaves now.
    const rooms = new RoomServiceClient(lk.url.replace(/^ws/, "http"), DEV_KEY, DEV_SECRET);
    expect((await rooms.listRooms([a.body.room, b.body.room])).map((r) => r.name)).toEqual([b.body.room]);
    await rooms.deleteRoom(b.body.room);
  });

  it("refuses a token to someone who is not signed in", async () => {
    const r = await liveKitToken("not-a-token");
    expect(r.status).toBe(401);
    expect(r.body.error?.code).toBe("unauthenticated");
  });

  it("runs rooms in job processes without LiveKit's end-of-turn model process (about 350 MB it would never use)", async () => {
    const children = childCommands(agent.pid);
    expect(children.some((c) => c.includes("job_proc_lazy_main"))).toBe(true);
    expect(children.filter((c) => c.includes("inference_proc"))).toEqual([]);
  });

  it("answers a text question over the data channel: streamed deltas, the answer, then speech", async () => {
    const { student } = await joinedStudent();
    fake.script(MAIN_MODEL, behave.reply(BST_ANSWER, { chunkDelayMs: 5 }));
    const final = await student.request({ type: "text_input", text: "What is a binary search tree?", teaching_mode: "qa" }, "ai_response", 60_000);
    await student.waitFor((m) => m.type === "conversation_updated" && m.request_id === final.request_id, 30_000);
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
    await student.waitFor((m) => m.type === "conversation_updated" && m.request_id === final.request_id, 30_000);
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

  it("serves the user the room was made for without an auth_request, and says so first", async () => {
    const { student, userId } = await joinedStudent();
    // The first message is the ready signal: who this room serves.
    expect(student.messages[0]).toMatchObject({ type: "auth_response", action: "verify", success: true, user: { id: userId } });
    const created = await student.request({ type: "new_conversation", teaching_mode: "teacher" }, "conversation_data");
    expect((created.conversation as { id: string }).id).toBeTruthy();
    const list = await student.request({ type: "list_conversations" }, "conversations_list");
    expect((list.conversations as unknown[]).length).toBe(1);
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

  it("ends the room's session when the student logs out on the app server: session_ended, the answer stored, the agent gone", async () => {
    const { student, bearer, username } = await joinedStudent();
    const sentence = "Hash tables map keys to buckets with a hash function. ";
    fake.script(MAIN_MODEL, behave.reply(sentence.repeat(80), { chunkDelayMs: 40 }));
    await student.send({ type: "text_input", text: "Explain hash tables slowly", teaching_mode: "qa", request_id: "h" });
    const first = await student.waitFor((m) => m.type === "ai_response_delta", 60_000);
    const out = await fetch(`${srv.url}/api/auth/logout`, { method: "POST", headers: { authorization: `Bearer ${bearer}` } });
    expect(out.status).toBe(204);
    const t0 = Date.now();
    const ended = await student.waitFor((m) => m.type === "session_ended", 5_000);
    expect(ended.reason).toBe("logout");
    expect(Date.now() - t0).toBeLessThan(2_500);
    const afterEnd = student.messages.indexOf(ended);

    // What was said is stored, marked interrupted (read with a new sign-in).
    const login = await fetch(`${srv.url}/api/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username, password: "correct horse battery" }),
    });
    const fresh = ((await login.json()) as { token: string }).token;
    let messages: { type: string; content: string }[] = [];
    for (let i = 0; i < 100 && messages.length < 2; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const r = await fetch(`${srv.url}/api/conversations/${first.conversation_id as string}`, { headers: { authorization: `Bearer ${fresh}` } });
      messages = ((await r.json()) as { conversation: { messages: typeof messages } }).conversation.messages;
    }
    expect(messages.map((m) => m.type)).toEqual(["user", "ai"]);
    expect(messages[1]!.content.endsWith(FIXED_ANSWERS.interruptedNote)).toBe(true);
    expect(sentence.repeat(80).startsWith(messages[1]!.content.slice(0, -FIXED_ANSWERS.interruptedNote.length))).toBe(true);

    // Nothing more reaches the room: a question gets no answer, and no more of the old one arrives.
    await student.send({ type: "text_input", text: "Are you still there?", request_id: "after" }).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(student.messages.slice(afterEnd + 1).filter((m) => m.type !== "error")).toEqual([]);
  });

  it("keeps what was said when the student leaves in the middle of an answer", async () => {
    const { student, bearer } = await joinedStudent();
    const sentence = "Merge sort splits the list, sorts both halves and merges them. ";
    fake.script(MAIN_MODEL, behave.reply(sentence.repeat(60), { chunkDelayMs: 40 }));
    await student.send({ type: "text_input", text: "Explain merge sort slowly", teaching_mode: "qa", request_id: "left" });
    const first = await student.waitFor((m) => m.type === "ai_response_delta", 60_000);
    await student.waitFor((m) => m.type === "ai_response_delta" && m !== first, 30_000);
    await student.leave();
    const conversationId = first.conversation_id as string;
    let messages: { type: string; content: string }[] = [];
    for (let i = 0; i < 100 && messages.length < 2; i++) {
      await new Promise((r) => setTimeout(r, 200));
      const r = await fetch(`${srv.url}/api/conversations/${conversationId}`, { headers: { authorization: `Bearer ${bearer}` } });
      messages = ((await r.json()) as { conversation: { messages: typeof messages } }).conversation.messages;
    }
    expect(messages.map((m) => m.type)).toEqual(["user", "ai"]);
    expect(messages[1]!.content.length).toBeGreaterThan(0);
    expect(sentence.repeat(60).startsWith(messages[1]!.content.trim().slice(0, 40))).toBe(true);
    expect(messages[1]!.content.length).toBeLessThan(sentence.length * 60);
  });

  it("delivers messages larger than one data packet (a long answer and the whole conversation) as text streams", async () => {
    const { student } = await joinedStudent();
    const long = "Dynamic programming stores the answers to overlapping subproblems. ".repeat(900); // ~60 KB
    fake.script(MAIN_MODEL, behave.reply(long, { chunks: long.match(/[\s\S]{1,2000}/g)! }));
    const final = await student.request({ type: "text_input", text: "Explain dynamic programming", teaching_mode: "qa", speak: false }, "ai_response", 60_000);
    expect(final.text).toBe(long);
    const data = await student.request({ type: "get_conversation", conversation_id: final.conversation_id }, "conversation_data");
    expect((data.conversation as { messages: { content: string }[] }).messages.at(-1)?.content).toBe(long);
    expect(student.carriers[student.messages.indexOf(data)]).toBe("stream");
    // Small messages still travel as single packets.
    expect(student.carriers[student.messages.findIndex((m) => m.type === "user_message")]).toBe("packet");
  });

  it("takes a long question sent as a text stream, and refuses one over the frame limit with too_large", async () => {
    const { student } = await joinedStudent();
    fake.script(MAIN_MODEL, behave.reply("That is a long program; the bug is on line 3."));
    const code = "for (let i = 0; i <= n; i++) { total += values[i]; }\n".repeat(300); // ~16 KB: over the 15 KB packet size, within the default 8,192-token context
    await student.sendStream(JSON.stringify({ type: "text_input", text: `Why does this crash?\n${code}`, teaching_mode: "qa", request_id: "big" }));
    const echoed = await student.waitFor((m) => m.type === "user_message" && m.request_id === "big", 60_000);
    expect((echoed.message as { content: string }).content).toBe(`Why does this crash?\n${code}`);
    const answer = await student.waitFor((m) => m.type === "ai_response" && m.request_id === "big", 60_000);
    expect(answer.text).toBe("That is a long program; the bug is on line 3.");
    const from = student.messages.length;
    await student.sendStream(JSON.stringify({ type: "text_input", text: "x".repeat(300 * 1024) }));
    expect((await student.waitFor((m) => m.type === "error", 30_000, from)).code).toBe("too_large");
    expect((await student.request({ type: "ping" }, "pong")).type).toBe("pong");
  });

  it("does not serve a room whose sign-in was ended before the student joined", async () => {
    const { bearer } = await register();
    const { body } = await liveKitToken(bearer);
    const out = await fetch(`${srv.url}/api/auth/logout`, { method: "POST", headers: { authorization: `Bearer ${bearer}` } });
    expect(out.status).toBe(204);
    const student = new Student();
    stack.students.push(student);
    // The agent may come and go before we would notice it: just join and listen.
    await student.connect(body.url, body.token);
    const err = await student.waitFor((m) => m.type === "error", 60_000);
    expect(err.code).toBe("unauthenticated");
    await student.send({ type: "list_conversations", request_id: "after" });
    await new Promise((r) => setTimeout(r, 1500));
    expect(student.messages.some((m) => m.request_id === "after")).toBe(false);
  });
  describe.runIf(speech)("speaking into the microphone", () => {
    let question: Int16Array;
    beforeAll(async () => {
      question = await speak(QUESTION);
    });

    it("a spoken question is transcribed, then answered like a typed one", async () => {
      const { student, bearer } = await joinedStudent();
      stt.reset();
      stt.script(sttBehave.reply(QUESTION));
      fake.script(MAIN_MODEL, behave.reply(BST_ANSWER, { chunkDelayMs: 5 }));
      const from = student.messages.length;
      await student.openMic();
      await student.speak(concatAudio(silence(400), question, silence(1_400)));
      const answer = await student.waitFor((m) => m.type === "ai_response", 60_000, from);
      await student.waitFor((m) => m.type === "conversation_updated", 30_000, from);

      const turn = student.messages.slice(from);
      const types = turn.map((m) => m.type);
      expect(types[0]).toBe("transcription");
      expect(turn[0]).toMatchObject({ text: QUESTION, final: true });
      expect(types.indexOf("user_message")).toBeGreaterThan(0);
      expect(types.indexOf("ai_response_delta")).toBeGreaterThan(types.indexOf("user_message"));
      expect(types.indexOf("ai_response")).toBeGreaterThan(types.indexOf("ai_response_delta"));
      expect(answer.text).toBe(BST_ANSWER);
      expect(turn.find((m) => m.type === "web_tts")?.text).toBe(
        "A binary search tree keeps smaller keys to the left and larger keys to the right.",
      );
      expect(types).not.toContain("error");

      // The transcription server got one WAV holding the spoken question, after its trip through WebRTC.
      expect(stt.requests).toHaveLength(1);
      const r = stt.requests[0]!;
      expect(r).toMatchObject({ model: "whisper-test", wavError: undefined });
      const spokenMs = question.length / 16;
      expect(r.wav!.durationMs).toBeGreaterThan(spokenMs * 0.8);
      expect(r.wav!.durationMs).toBeLessThan(spokenMs + 1_500);
      expect(r.wav!.rms).toBeGreaterThan(0.02);

      const stored = await fetch(`${srv.url}/api/conversations/${answer.conversation_id as string}`, { headers: { authorization: `Bearer ${bearer}` } });
      const { conversation } = (await stored.json()) as { conversation: { messages: { type: string; content: string }[] } };
      expect(conversation.messages.map((m) => [m.type, m.content])).toEqual([
        ["user", QUESTION],
        ["ai", BST_ANSWER],
      ]);
    });

    it("speaking during an answer barges in: barge_in, the answer stops, the new question is answered", async () => {
      const { student } = await joinedStudent();
      stt.reset();
      let heard = 0;
      stt.setDefault(sttBehave.compute(() => (++heard === 1 ? "Tell me everything about recursion" : "Stop, what is a base case?")));
      fake.script(MAIN_MODEL, [
        behave.reply("Recursion is when a function calls itself. ".repeat(60), { chunkDelayMs: 40 }),
        behave.reply("A base case stops the recursion."),
      ]);
      await student.openMic();
      await student.speak(concatAudio(silence(300), question, silence(1_300)));
      await student.waitFor((m) => m.type === "ai_response_delta", 60_000);
      const longAnswer = fake.requests.filter((r) => r.model === MAIN_MODEL).at(-1)!;
      // The student talks over the streaming answer.
      await student.speak(concatAudio(question, silence(1_300)));
      const barge = await student.waitFor((m) => m.type === "barge_in", 30_000);
      const cancelled = await student.waitFor((m) => m.type === "ai_response" && m.cancelled === true, 30_000);
      expect(String(cancelled.text).length).toBeLessThan("Recursion is when a function calls itself. ".length * 60);
      expect(await longAnswer.settled).toBe("client_closed"); // the model call was aborted
      const second = await student.waitFor((m) => m.type === "ai_response" && m.message_id !== cancelled.message_id, 60_000);
      expect(second.text).toBe("A base case stops the recursion.");
      const order = student.messages.map((m) => (m.type === "ai_response" && m.cancelled ? "cancelled" : m.type));
      expect(order.indexOf("barge_in")).toBeLessThan(order.indexOf("cancelled"));
      expect(student.messages.filter((m) => m.type === "transcription").map((m) => m.text)).toEqual([
        "Tell me everything about recursion",
        "Stop, what is a base case?",
      ]);
      expect(barge.type).toBe("barge_in");
      stt.setDefault(sttBehave.reply("This is a fake transcription."));
    });
  });
});
