// A student in a LiveKit voice room and in a browser tab at once, on
// PostgreSQL: the room's job process is an instance of its own, on the
// PostgreSQL hub like the app server, so what happens in one shows in the
// other, live, both ways — and after a PostgreSQL restart both re-synchronise.
// Needs the LiveKit server binary and PostgreSQL: skips without them, fails
// under REQUIRE_SERVICES=1.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { behave, pgAvailable, startPostgres, type FakeLlm, type PgHandle } from "@tutor/testkit";
import { MAIN_MODEL, WsClient, type TestServer } from "@tutor/server/test-helpers";
import { liveKitServerOrSkip, type Student } from "./test-harness.js";
import { startRoomStack, type RoomStack } from "./test-stack.js";

const bin = liveKitServerOrSkip();
if (!pgAvailable() && process.env.REQUIRE_SERVICES === "1") {
  throw new Error("REQUIRE_SERVICES=1 but PostgreSQL is not available (no initdb/pg_ctl and no TEST_DATABASE_URL)");
}
// Through the data channel and a job process on a busy 2-core machine: more room than between app servers.
const SEEN_WITHIN_MS = 5_000;
const ANSWER = "A hash table maps keys to buckets by a hash function.";

describe.runIf(bin && pgAvailable())("LiveKit room and WebSocket tab on PostgreSQL", { timeout: 120_000 }, () => {
  let db: PgHandle;
  let stack: RoomStack;
  let fake: FakeLlm;
  let srv: TestServer;
  const tabs: WsClient[] = [];

  beforeAll(async () => {
    const starting = startPostgres().then((pg) => (db = pg));
    stack = await startRoomStack(bin!, { prefix: "lkpg", env: starting.then((pg) => ({ DATABASE_URL: pg.url, JWT_SECRET: randomBytes(32).toString("hex") })) });
    ({ fake, srv } = stack);
    fake.setDefault(MAIN_MODEL, behave.reply(ANSWER));
  });

  afterAll(async () => {
    await Promise.all(tabs.map((t) => t.close().catch(() => undefined)));
    await stack?.close();
    await db?.stop();
  });

  /** One student: a joined LiveKit room and a signed-in WebSocket tab. */
  async function roomAndTab(): Promise<{ room: Student; tab: WsClient }> {
    const { student: room, bearer: token } = await stack.joinedStudent();
    const tab = await WsClient.connect(srv.wsUrl);
    tabs.push(tab);
    const v = await tab.request({ type: "auth_request", data: { type: "verify", token } }, "auth_response");
    expect(v.success).toBe(true);
    return { room, tab };
  }

  it("a turn in the room shows in the tab; a rename and a delete in the tab reach the room's data channel", async () => {
    const { room, tab } = await roomAndTab();
    const fromTab = tab.messages.length;
    const final = await room.request({ type: "text_input", text: "What is a hash table?", teaching_mode: "qa" }, "ai_response", 60_000);
    expect(final.text).toBe(ANSWER);
    const id = final.conversation_id as string;
    const seen = await tab.waitFor((m) => m.type === "conversation_updated" && (m.conversation as { id: string }).id === id, SEEN_WITHIN_MS, fromTab);
    expect(seen.conversation).toMatchObject({ id, message_count: 2 });

    let fromRoom = room.messages.length;
    await tab.request({ type: "rename_conversation", conversation_id: id, title: "Hash tables, renamed in the tab" }, "conversation_updated");
    const renamed = await room.waitFor(
      (m) => m.type === "conversation_updated" && (m.conversation as { title: string }).title === "Hash tables, renamed in the tab",
      SEEN_WITHIN_MS,
      fromRoom,
    );
    expect(renamed.conversation).toMatchObject({ id });

    fromRoom = room.messages.length;
    await tab.request({ type: "delete_conversation", conversation_id: id }, "conversation_deleted");
    await room.waitFor((m) => m.type === "conversation_deleted" && m.conversation_id === id, SEEN_WITHIN_MS, fromRoom);
  });

  it("pg_ctl restart: the room and the tab each get a fresh conversations_list, and events flow both ways again", async () => {
    if (!db.restart) return expect.fail("needs the private cluster (TEST_DATABASE_URL cannot be restarted)");
    const { room, tab } = await roomAndTab();
    const created = await tab.request({ type: "new_conversation", teaching_mode: "qa" }, "conversation_data");
    const id = (created.conversation as { id: string }).id;
    const [fromRoom, fromTab] = [room.messages.length, tab.messages.length];
    await db.restart();
    const unsolicited = (m: { type: string; request_id?: unknown }) => m.type === "conversations_list" && m.request_id === undefined;
    const [inRoom] = await Promise.all([room.waitFor(unsolicited, 30_000, fromRoom), tab.waitFor(unsolicited, 30_000, fromTab)]);
    expect((inRoom.conversations as { id: string }[]).map((c) => c.id)).toContain(id);

    const after = room.messages.length;
    // The pool's first query after the restart may meet a dead connection; the tab asks again like a user would.
    await expect
      .poll(async () => (await tab.request({ type: "rename_conversation", conversation_id: id, title: "after the restart" })).type, { timeout: 10_000 })
      .toBe("conversation_updated");
    await room.waitFor((m) => m.type === "conversation_updated" && (m.conversation as { title: string }).title === "after the restart", SEEN_WITHIN_MS, after);
  });
});
