// One LiveKit room per user (issue 7, voice limits), against a real LiveKit
// server and our agent worker: a newer token request closes the user's older
// room (its student is disconnected, its agent session ends), two requests at
// once leave exactly one room, and it holds across two app server instances,
// since the rooms are found through LiveKit itself. Skips without the LiveKit
// server binary, fails under REQUIRE_SERVICES=1.
import { RoomEvent } from "@livekit/rtc-node";
import { RoomServiceClient } from "livekit-server-sdk";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "@tutor/server/test-helpers";
import { DEV_KEY, DEV_SECRET, leaveAll, liveKitServerOrSkip, requestRoom, type RoomGrant, type AgentProcess } from "./test-harness.js";
import { startRoomStack, type RoomStack } from "./test-stack.js";

const bin = liveKitServerOrSkip();

describe.skipIf(!bin)("one LiveKit room per user", { timeout: 120_000 }, () => {
  let stack: RoomStack;
  let srv: TestServer;
  /** A second app server instance on the same storage and LiveKit. */
  let srv2: TestServer;
  let agent: AgentProcess;
  let rooms: RoomServiceClient;

  beforeAll(async () => {
    stack = await startRoomStack(bin!, { prefix: "lkrooms" });
    ({ srv, agent } = stack);
    srv2 = await startTestServer({ fake: stack.fake, env: stack.env, dataDir: srv.dataDir });
    rooms = new RoomServiceClient(stack.lk.url.replace(/^ws/, "http"), DEV_KEY, DEV_SECRET);
  });

  afterEach(async () => {
    await leaveAll(stack.students);
  });

  afterAll(async () => {
    await srv2?.close();
    await stack?.close();
  });

  const register = () => stack.register();

  async function liveKitToken(bearer: string, base = srv.url): Promise<RoomGrant> {
    const r = await requestRoom(base, bearer);
    expect(r.status).toBe(200);
    return r.body;
  }

  /** The names of the user's rooms that LiveKit knows. */
  async function roomsOf(userId: string): Promise<string[]> {
    return (await rooms.listRooms()).map((r) => r.name).filter((n) => n.startsWith(`tutor_${userId}_`));
  }

  /** How many rooms with a student the agent worker serves now (its /metrics). */
  async function roomsServed(): Promise<number> {
    if (!agent.metricsUrl) throw new Error(`the agent did not say where its metrics are:\n${agent.output()}`);
    const text = await (await fetch(agent.metricsUrl)).text();
    return Number(/^tutor_agent_rooms (\S+)$/m.exec(text)?.[1] ?? NaN);
  }

  const joined = (grant: RoomGrant) => stack.join(grant);

  it("closes the older room when the user asks for another: its student is disconnected and its agent leaves", async () => {
    const { bearer, userId } = await register();
    const first = await liveKitToken(bearer);
    const oldTab = await joined(first);
    expect(oldTab.messages[0]).toMatchObject({ type: "auth_response", action: "verify", success: true });
    const disconnected = new Promise<void>((resolve) => oldTab.room.once(RoomEvent.Disconnected, () => resolve()));

    // The student reloads, or opens voice in another tab: the newer request wins.
    const second = await liveKitToken(bearer);
    expect(await roomsOf(userId)).toEqual([second.room]);
    await disconnected;
    expect(oldTab.room.isConnected).toBe(false);
    // The old room's agent session ended with it (the new room has no student yet).
    await expect.poll(roomsServed, { timeout: 20_000, interval: 200 }).toBe(0);

    // The new room is served as usual.
    const newTab = await joined(second);
    const pong = await newTab.request({ type: "ping" }, "pong");
    expect(pong.type).toBe("pong");
    expect(await roomsOf(userId)).toEqual([second.room]);
    expect(await roomsServed()).toBe(1);
  });

  it("leaves exactly one room when two requests come at once", async () => {
    for (let round = 0; round < 3; round++) {
      const { bearer, userId } = await register();
      const made = await Promise.all([liveKitToken(bearer), liveKitToken(bearer), liveKitToken(bearer)]);
      const left = await roomsOf(userId);
      expect(left).toHaveLength(1);
      expect(made.map((m) => m.room)).toContain(left[0]);
      await rooms.deleteRoom(left[0]!);
    }
  });

  it("holds across app server instances (the rooms are found through LiveKit)", async () => {
    const { bearer, userId } = await register();
    const first = await liveKitToken(bearer, srv.url);
    const oldTab = await joined(first);
    const disconnected = new Promise<void>((resolve) => oldTab.room.once(RoomEvent.Disconnected, () => resolve()));
    const second = await liveKitToken(bearer, srv2.url);
    expect(await roomsOf(userId)).toEqual([second.room]);
    await disconnected;
    // Another user's room is not touched.
    const other = await register();
    const theirs = await liveKitToken(other.bearer, srv2.url);
    expect(await roomsOf(userId)).toEqual([second.room]);
    expect(await roomsOf(other.userId)).toEqual([theirs.room]);
    await Promise.all([rooms.deleteRoom(second.room), rooms.deleteRoom(theirs.room)]);
  });
});
