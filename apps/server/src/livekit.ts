// The LiveKit carrier, server side: one room per signed-in user (a new
// request replaces the user's older room), a short-lived join token scoped to
// that room, and the tutor agent dispatched into it when the room is created. The agent (apps/agent) trusts
// only what is signed here with the API secret — the room's dispatch metadata
// and the participant identity — never anything the browser says.
import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { AccessToken, RoomAgentDispatch, RoomServiceClient, TrackSource } from "livekit-server-sdk";
import { z } from "zod";
import type { VerifiedToken } from "@tutor/core";
import type { LiveKitToken } from "@tutor/protocol";

/** The name the agent worker registers under; rooms dispatch it explicitly. */
export const LIVEKIT_AGENT_NAME = "tutor";

export const LIVEKIT_DEFAULTS = {
  /**
   * How long the join token is valid, and how long the agent waits for the
   * student: clients ask for a token right before joining, and each room
   * holds an agent process while it waits. A joined participant stays
   * connected past it (LiveKit refreshes its token).
   */
  joinWindowSeconds: 120,
  /** Grace period for the student to come back after a network drop. */
  departureTimeoutSeconds: 20,
  /** A LiveKit API call that takes longer fails the request (503) instead of hanging it. */
  apiTimeoutSeconds: 10,
} as const;

/** Set by the server as the dispatch's metadata: who the agent in this room serves. */
export const DispatchMetadata = z.object({
  user_id: z.string().min(1),
  /** The student's participant identity in the room (also in their join token). */
  identity: z.string().min(1),
  /** The app session (JWT id) the room belongs to: logging out of it ends the voice session. */
  jti: z.string().min(1),
  /** ISO time after which the join token no longer works: the agent stops waiting then. */
  join_by: z.string(),
});
export type DispatchMetadata = z.infer<typeof DispatchMetadata>;

/** Participant attribute carrying the user id (participants cannot change their own attributes). */
export const USER_ID_ATTRIBUTE = "tutor.user_id";

export function studentIdentity(userId: string): string {
  return `student:${userId}`;
}

export interface LiveKitSettings {
  url: string;
  apiKey: string;
  apiSecret: string;
}

export interface LiveKitRooms {
  /**
   * Creates a room for this user with the tutor agent dispatched, and a token
   * to join it; the user's older rooms are closed (one room per user).
   */
  open(auth: VerifiedToken): Promise<LiveKitToken>;
}

/** Every room of a user is named `tutor_<userId>_<random>`. */
export function roomPrefix(userId: string): string {
  return `tutor_${userId}_`;
}

interface RoomInfo {
  name: string;
  metadata: string;
  creationTime: bigint;
  creationTimeMs: bigint;
}

/** LiveKit's creation time in ms (older servers fill only the seconds). */
function createdMs(r: RoomInfo): bigint {
  return r.creationTimeMs > 0n ? r.creationTimeMs : r.creationTime * 1000n;
}

/** True when room `a` was created before `b` (names break ties, so every instance agrees). */
function olderThan(a: RoomInfo, b: RoomInfo): boolean {
  const ta = createdMs(a);
  const tb = createdMs(b);
  return ta !== tb ? ta < tb : a.name < b.name;
}

/** The HTTP(S) base of the LiveKit server API, from a ws(s):// or http(s):// URL. */
export function apiUrl(url: string): string {
  return url.replace(/^ws/, "http");
}

/** The metadata of every room this server creates (LiveKit creates rooms on join too, with none). */
const ROOM_METADATA = "cs-tutor";

/** Deleting a room LiveKit is already closing: how often to try, and the pause before the next try (× attempt). */
const CLOSE_ATTEMPTS = 4;
const CLOSE_RETRY_MS = 50;

export function createLiveKitRooms(settings: LiveKitSettings, now: () => number = Date.now): LiveKitRooms {
  const rooms = new RoomServiceClient(apiUrl(settings.url), settings.apiKey, settings.apiSecret, {
    requestTimeout: LIVEKIT_DEFAULTS.apiTimeoutSeconds,
    failover: false,
  });
  /**
   * One room per user, also across app instances: LiveKit is shared, so the
   * user's rooms are found there by name, after ours exists, and every room
   * but the newest listed goes — ours too, when a newer one is there.
   * Concurrent requests agree which room is newest (creation time, then
   * name), and a room created after a request's listing is newer than all it
   * saw, so exactly the newest survives. Deleting a room disconnects its
   * participants, so the agent's session there ends and the other tab falls
   * back to the WebSocket. Only rooms this server created count (their
   * metadata): a room LiveKit brought back when someone joined it after it
   * was deleted must not outrank the student's real one.
   */
  async function closeOlderRooms(userId: string): Promise<void> {
    const prefix = roomPrefix(userId);
    const theirs = (await rooms.listRooms()).filter((r) => r.name.startsWith(prefix) && r.metadata === ROOM_METADATA);
    const newest = theirs.reduce<RoomInfo | undefined>((a, r) => (a && olderThan(r, a) ? a : r), undefined);
    await Promise.all(theirs.filter((r) => r !== newest).map((r) => closeRoom(r.name)));
  }

  /**
   * Deletes a room, and is done once it is gone, whoever closed it. A room
   * that a concurrent request (or its empty timeout) is closing at this moment
   * is still listed by LiveKit while its node tears it down, and deleting it
   * then answers "no response from servers" (503): ask again whether it is
   * there, and delete it again if it still is.
   */
  async function closeRoom(name: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await rooms.deleteRoom(name);
        return;
      } catch (err) {
        if (/not.?found/i.test(String(err))) return;
        if ((await rooms.listRooms([name])).length === 0) return;
        if (attempt >= CLOSE_ATTEMPTS) throw err;
        await sleep(CLOSE_RETRY_MS * attempt);
      }
    }
  }

  return {
    async open(auth) {
      const ttl = LIVEKIT_DEFAULTS.joinWindowSeconds;
      const issuedAt = now();
      const joinBy = new Date(issuedAt + ttl * 1000).toISOString();
      // Unguessable, and carrying the owner so operators can tell rooms apart.
      const room = `tutor_${auth.userId}_${randomBytes(9).toString("base64url")}`;
      const identity = studentIdentity(auth.userId);
      const metadata: DispatchMetadata = { user_id: auth.userId, identity, jti: auth.jti, join_by: joinBy };

      await rooms.createRoom({
        name: room,
        emptyTimeout: LIVEKIT_DEFAULTS.joinWindowSeconds,
        departureTimeout: LIVEKIT_DEFAULTS.departureTimeoutSeconds,
        maxParticipants: 2, // the student and the tutor
        metadata: ROOM_METADATA,
        agents: [new RoomAgentDispatch({ agentName: LIVEKIT_AGENT_NAME, metadata: JSON.stringify(metadata) })],
      });
      await closeOlderRooms(auth.userId);

      const at = new AccessToken(settings.apiKey, settings.apiSecret, {
        identity,
        name: auth.user.username,
        ttl,
        attributes: { [USER_ID_ATTRIBUTE]: auth.userId },
      });
      at.addGrant({
        room,
        roomJoin: true,
        roomCreate: false,
        canSubscribe: true,
        canPublish: true,
        canPublishSources: [TrackSource.MICROPHONE],
        canPublishData: true,
        canUpdateOwnMetadata: false,
      });
      return { url: settings.url, token: await at.toJwt(), room, expires_at: joinBy };
    },
  };
}
