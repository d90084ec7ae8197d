// Thousands of mutated frames of every client message type (fields dropped,
// replaced by any JSON value, added, the type changed, the text cut): every
// reply is a protocol answer — never `internal` — the connection stays open
// and the server keeps serving.
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLIENT_MESSAGE_TYPES } from "@tutor/protocol";
import { behave, startFakeLlm, type FakeLlm } from "@tutor/testkit";
import { FAST_MODEL, MAIN_MODEL, signUp, startTestServer, WsClient, type TestServer } from "./test-helpers.js";

let fake: FakeLlm;
let srv: TestServer;
beforeAll(async () => {
  fake = await startFakeLlm({ models: [MAIN_MODEL, FAST_MODEL] });
  fake.setDefault(FAST_MODEL, behave.reply("YES"));
  fake.setDefault(MAIN_MODEL, behave.reply("Short."));
  srv = await startTestServer({ fake });
});
afterAll(async () => {
  await srv?.close();
  await fake?.close();
});

/** A valid example of every client message type, the seeds the mutations start from. */
function seeds(conversationId: string, messageId: string): Record<string, unknown>[] {
  const all: Record<string, Record<string, unknown>> = {
    auth_request: { type: "auth_request", data: { type: "verify", token: "x.y.z" } },
    text_input: { type: "text_input", text: "What is a stack?", teaching_mode: "qa", conversation_id: conversationId, speak: false },
    new_conversation: { type: "new_conversation", teaching_mode: "qa" },
    get_conversation: { type: "get_conversation", conversation_id: conversationId, limit: 5, before: messageId },
    list_conversations: { type: "list_conversations", limit: 3, cursor: null, teaching_mode: "qa" },
    rename_conversation: { type: "rename_conversation", conversation_id: conversationId, title: "Stacks" },
    delete_conversation: { type: "delete_conversation", conversation_id: "not-mine" },
    clear_all_conversations: { type: "clear_all_conversations", teaching_mode: "teacher" },
    cancel_response: { type: "cancel_response", conversation_id: conversationId },
    audio_start: { type: "audio_start", sample_rate: 16000, encoding: "pcm_s16le", conversation_id: conversationId },
    audio_end: { type: "audio_end" },
    playback_state: { type: "playback_state", speaking: true, message_id: messageId },
    ping: { type: "ping" },
    exercise_submission: {
      type: "exercise_submission",
      conversation_id: conversationId,
      message_id: messageId,
      exercise_index: 0,
      language: "python",
      code: "print(1)",
      results: { passed: 1, failed: 0, total: 1, output: "" },
    },
    search_conversations: { type: "search_conversations", query: "stack", limit: 5 },
  };
  // Every type the protocol knows has a seed (a new type without one fails here).
  for (const t of CLIENT_MESSAGE_TYPES) all[t] ??= { type: t };
  return Object.values(all);
}

const anyJson = fc.oneof(
  fc.jsonValue(),
  fc.string(),
  fc.integer(),
  fc.double(),
  fc.constant(null),
  fc.string({ minLength: 60, maxLength: 80 }),
  fc.constantFrom("", "teacher", "qa", "register", "login", "verify", "__proto__", "constructor"),
);

function mutation(seed: Record<string, unknown>): fc.Arbitrary<string> {
  const keys = Object.keys(seed);
  const obj: fc.Arbitrary<Record<string, unknown>> = fc.oneof<fc.Arbitrary<Record<string, unknown>>[]>(
    // replace one field by any value
    fc.tuple(fc.constantFrom(...keys), anyJson).map(([k, v]) => ({ ...seed, [k]: v })),
    // drop one field
    fc.constantFrom(...keys).map((k) => Object.fromEntries(Object.entries(seed).filter(([x]) => x !== k))),
    // add one
    fc.tuple(fc.string({ maxLength: 12 }), anyJson).map(([k, v]) => ({ ...seed, [k]: v })),
    // a nested object mangled
    fc.tuple(fc.dictionary(fc.string({ maxLength: 8 }), anyJson, { maxKeys: 4 })).map(([d]) => ({ ...seed, data: d, results: d })),
    // another type's name on this body
    fc.constantFrom(...CLIENT_MESSAGE_TYPES, "unknown", "").map((t) => ({ ...seed, type: t })),
    fc.constant(seed),
  );
  return fc.oneof(
    { weight: 8, arbitrary: obj.map((o) => JSON.stringify({ ...o, request_id: typeof o.request_id === "string" ? o.request_id : "fuzz" })) },
    // the text itself cut or spliced: bad JSON, arrays, scalars
    { weight: 2, arbitrary: fc.tuple(fc.nat(), fc.string({ maxLength: 4 })).map(([n, s]) => { const j = JSON.stringify(seed); const at = n % (j.length + 1); return j.slice(0, at) + s + j.slice(at + 1); }) },
  );
}

describe("fuzzed frames", () => {
  it("answers thousands of mutated frames of every message type with protocol errors only, and keeps serving", { timeout: 240_000 }, async () => {
    const c = await WsClient.connect(srv.wsUrl);
    const { token } = await signUp(c);
    const created = await c.request({ type: "new_conversation", teaching_mode: "qa" }, "conversation_data");
    const convId = (created.conversation as { id: string }).id;
    const turn = await c.request({ type: "text_input", text: "What is a queue?", conversation_id: convId, speak: false }, "ai_response");
    const frames = fc.oneof(...seeds(convId, turn.message_id as string).map(mutation));

    let runs = 0;
    await fc.assert(
      fc.asyncProperty(frames, async (frame) => {
        runs++;
        // A logout would only leave the rest unauthenticated (still protocol errors); stay signed in to reach every handler.
        if (/"logout"/.test(frame)) return;
        const from = c.messages.length;
        c.sendRaw(frame);
        const pong = await c.request({ type: "ping" }, "pong", 20_000);
        const replies = c.messages.slice(from, c.messages.indexOf(pong));
        const internal = replies.filter((m) => m.type === "error" && m.code === "internal");
        expect(internal, `frame ${frame}`).toEqual([]);
        if (replies.some((m) => m.type === "session_ended" || (m.type === "auth_response" && m.success === false && m.action === "verify"))) {
          await c.request({ type: "auth_request", data: { type: "verify", token } }, "auth_response");
        }
      }),
      { numRuns: 3000 },
    );
    expect(runs).toBeGreaterThanOrEqual(3000);
    expect(c.ws.readyState).toBe(c.ws.OPEN);
    expect((await fetch(`${srv.url}/healthz`)).status).toBe(200);
    const other = await WsClient.connect(srv.wsUrl);
    expect((await other.request({ type: "ping" }, "pong")).type).toBe("pong");
    await Promise.all([c.close(), other.close()]);
  });
});
