// Exercises and course progress end to end over /ws, on SQLite and on a real
// PostgreSQL: the fake model answers with an outline, a chapter and an
// exercise; submissions are stored, run as turns with the code and results in
// the model's request, move the course on, and forged ones are refused.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { behave, pgAvailable, startFakeLlm, startPostgres, type FakeLlm, type PgHandle } from "@tutor/testkit";
import { FAST_MODEL, MAIN_MODEL, WsClient, ask, signUp, startTestServer, type TestServer } from "./test-helpers.js";

const T = "```";
const OUTLINE = `Here is a plan for functions in Python.\n\n${T}outline\n1. Defining functions — write and call a function\n2. Parameters — pass values in\n3. Return values — get results out\n${T}\n\nShall we start with chapter 1?`;
const CHAPTER_1 = [
  "## Chapter 1: Defining functions",
  "A function is a named block of code.",
  `${T}python exercise\ndef add(a, b):\n    pass\n${T}`,
  `${T}python tests\nassert add(2, 3) == 5, "add(2, 3) should be 5"\nassert add(-1, 1) == 0, "add(-1, 1) should be 0"\n${T}`,
  "Try it and send me your results.",
].join("\n\n");

const requirePg = process.env.REQUIRE_SERVICES === "1";
const dialects: { name: string; available: boolean }[] = [
  { name: "sqlite", available: true },
  { name: "postgres", available: pgAvailable() || requirePg },
];

type Course = { chapters: { title: string; status: string }[]; current: number | null; exercises_passed: number; exercises_total: number };

describe.each(dialects)("exercises on $name", ({ name, available }) => {
  let fake: FakeLlm;
  let pgDb: PgHandle | undefined;
  let srv: TestServer;
  let c: WsClient;
  let other: WsClient;
  let convId: string;
  let exerciseMsgId: string;

  beforeAll(async () => {
    if (!available) return;
    fake = await startFakeLlm({ models: [MAIN_MODEL, FAST_MODEL] });
    fake.setDefault(FAST_MODEL, behave.compute((r) => (/title/i.test(JSON.stringify(r.messages)) ? "Python functions" : "YES")));
    if (name === "postgres") {
      if (!pgAvailable()) throw new Error("REQUIRE_SERVICES=1 but PostgreSQL is not available");
      pgDb = await startPostgres();
    }
    srv = await startTestServer({ fake, env: pgDb ? { DATABASE_URL: pgDb.url } : {} });
    c = await WsClient.connect(srv.wsUrl);
    other = await WsClient.connect(srv.wsUrl);
    await signUp(c);
    await signUp(other);
  });
  afterAll(async () => {
    await c?.close();
    await other?.close();
    await srv?.close();
    await pgDb?.stop();
    await fake?.close();
  });

  const courseOf = (msgs: Record<string, unknown>[]) =>
    (msgs.find((m) => m.type === "conversation_updated")!.conversation as { course?: Course }).course;
  const submit = (fields: Record<string, unknown>) =>
    c.request({
      type: "exercise_submission",
      conversation_id: convId,
      message_id: exerciseMsgId,
      exercise_index: 0,
      language: "python",
      code: "def add(a, b):\n    return a - b",
      results: { passed: 1, failed: 1, total: 2, output: 'FAIL test line 1: add(2, 3) should be 5\nstdout: debugging' },
      speak: false,
      ...fields,
    });
  async function submitTurn(fields: Record<string, unknown>) {
    const from = c.messages.length;
    const final = await submit(fields);
    expect(final.type).not.toBe("error");
    const rid = final.request_id as string;
    await c.waitFor((m) => m.type === "conversation_updated" && m.request_id === rid, 15_000, from);
    return c.replies(rid);
  }

  it.runIf(available)("reads the outline and the chapter into the conversation's course", async () => {
    fake.script(MAIN_MODEL, behave.reply(OUTLINE));
    const first = await ask(c, { text: "Teach me Python functions", teaching_mode: "teacher", new_conversation: true, speak: false });
    convId = first.find((m) => m.type === "ai_response")!.conversation_id as string;
    expect(courseOf(first)).toEqual({
      chapters: [
        { title: "Defining functions", status: "todo" },
        { title: "Parameters", status: "todo" },
        { title: "Return values", status: "todo" },
      ],
      current: null,
      exercises_passed: 0,
      exercises_total: 0,
    });

    fake.script(MAIN_MODEL, behave.reply(CHAPTER_1));
    const second = await ask(c, { text: "Yes, let's start", conversation_id: convId, speak: false });
    exerciseMsgId = second.find((m) => m.type === "ai_response")!.message_id as string;
    expect(courseOf(second)).toMatchObject({ current: 0, exercises_passed: 0, exercises_total: 1 });
    expect(courseOf(second)!.chapters.map((ch) => ch.status)).toEqual(["current", "todo", "todo"]);
  });

  it.runIf(available)("stores a submission as a readable user message and runs it as a turn with the code and results", async () => {
    fake.script(MAIN_MODEL, behave.reply("Close! The test on line 1 fails: `add` subtracts. Look at the operator on line 2."));
    const before = fake.requests.length;
    const msgs = await submitTurn({});
    const user = msgs.find((m) => m.type === "user_message")!.message as { type: string; content: string };
    expect(user.type).toBe("user");
    expect(user.content).toMatch(/^\*\*Exercise 1 \(Python\), attempt 1: 1 of 2 tests passed, 1 failed\.\*\*/);
    expect(user.content).toContain("```python\ndef add(a, b):\n    return a - b\n```");
    expect(user.content).toContain("add(2, 3) should be 5");
    // The tutoring model's request holds the chapter (with its tests) and the submission.
    const req = fake.requests.slice(before).find((r) => r.model === MAIN_MODEL)!;
    const last = req.messages.at(-1)!;
    expect(last.role).toBe("user");
    expect(last.content).toContain("return a - b");
    expect(last.content).toContain("FAIL test line 1: add(2, 3) should be 5");
    expect(req.messages.some((m) => m.role === "assistant" && m.content.includes("python tests"))).toBe(true);
    expect(msgs.find((m) => m.type === "ai_response")!.text).toMatch(/line 1 fails/);
    expect(courseOf(msgs)).toMatchObject({ exercises_passed: 0, exercises_total: 1 });
  });

  it.runIf(available)("counts a fully passing submission once, and says which attempt it is", async () => {
    fake.script(MAIN_MODEL, behave.reply("Well done, both tests pass."));
    const pass = { code: "def add(a, b):\n    return a + b", results: { passed: 2, failed: 0, total: 2, output: "" } };
    const msgs = await submitTurn(pass);
    expect((msgs.find((m) => m.type === "user_message")!.message as { content: string }).content).toMatch(/attempt 2: all 2 tests passed/);
    expect(courseOf(msgs)).toMatchObject({ exercises_passed: 1, exercises_total: 1 });
    fake.script(MAIN_MODEL, behave.reply("Still passing."));
    expect(courseOf(await submitTurn(pass))).toMatchObject({ exercises_passed: 1, exercises_total: 1 });
    // Listings carry the course too.
    const list = await c.request({ type: "list_conversations", teaching_mode: "teacher" }, "conversations_list");
    const summary = (list.conversations as { id: string; course?: Course }[]).find((s) => s.id === convId)!;
    expect(summary.course).toMatchObject({ current: 0, exercises_passed: 1, exercises_total: 1 });
  });

  it.runIf(available)("refuses forged submissions: not_found for ids that are not the student's, invalid_message for no such exercise", async () => {
    const calls = fake.requests.length;
    const count = async () =>
      ((await c.request({ type: "get_conversation", conversation_id: convId }, "conversation_data")).conversation as { messages: unknown[] }).messages.length;
    const stored = await count();

    // Another student sending for this answer, or naming it under their own conversation.
    const theirConv = ((await other.request({ type: "new_conversation", teaching_mode: "teacher" }, "conversation_data")).conversation as { id: string }).id;
    const base = { type: "exercise_submission", exercise_index: 0, language: "python", code: "x = 1", results: { passed: 0, failed: 1, total: 1, output: "" } };
    expect(await other.request({ ...base, conversation_id: convId, message_id: exerciseMsgId })).toMatchObject({ type: "error", code: "not_found" });
    expect(await other.request({ ...base, conversation_id: theirConv, message_id: exerciseMsgId })).toMatchObject({ type: "error", code: "not_found" });
    expect(await submit({ message_id: "0190aaaa-0000-7000-8000-000000000000" })).toMatchObject({ type: "error", code: "not_found" });

    // The student's own answer, but no exercise there.
    expect(await submit({ exercise_index: 1 })).toMatchObject({ type: "error", code: "invalid_message" });
    expect(await submit({ language: "javascript" })).toMatchObject({ type: "error", code: "invalid_message" });
    const conv = (await c.request({ type: "get_conversation", conversation_id: convId }, "conversation_data")).conversation as {
      messages: { id: string; type: string }[];
    };
    const outlineAnswer = conv.messages.find((m) => m.type === "ai")!.id;
    const aQuestion = conv.messages.find((m) => m.type === "user")!.id;
    expect(await submit({ message_id: outlineAnswer })).toMatchObject({ type: "error", code: "invalid_message" });
    expect(await submit({ message_id: aQuestion })).toMatchObject({ type: "error", code: "invalid_message" });

    // Sizes.
    expect(await submit({ code: "x".repeat(20_001) })).toMatchObject({ type: "error", code: "invalid_message" });
    expect(await submit({ code: "" })).toMatchObject({ type: "error", code: "invalid_message" });
    expect(await submit({ results: { passed: 0, failed: 1, total: 1, output: "o".repeat(4_001) } })).toMatchObject({ code: "invalid_message" });
    expect(await submit({ results: { passed: 3, failed: 0, total: 2, output: "" } })).toMatchObject({ code: "invalid_message" });
    expect(await submit({ language: "ruby" })).toMatchObject({ code: "invalid_message" });

    // Nothing was stored, no model was called, and the connection still works.
    expect(await count()).toBe(stored);
    expect(fake.requests.length).toBe(calls);
    expect(await c.request({ type: "ping" })).toMatchObject({ type: "pong" });
  });
});
