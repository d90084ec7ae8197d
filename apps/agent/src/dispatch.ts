// Which dispatches the worker takes. The app server deletes a user's older
// rooms as soon as a newer one exists (one room per user), and LiveKit may
// still hand the tutor a dispatch for a room already deleted — a student who
// reloads, or a burst of token requests. Joining it would bring the room back
// (LiveKit creates rooms on join by default) and hold a job process for the
// whole join window, waiting for a student who is in the newer room. So a
// dispatch is taken only while its room is still the one it was made for.
import type { JobRequest } from "@livekit/agents";
import type { Logger } from "@tutor/core";
import { RoomServiceClient } from "livekit-server-sdk";

export interface LiveKitApi {
  url: string;
  apiKey: string;
  apiSecret: string;
}

/** A LiveKit API call that takes longer counts as not answered: the job is taken, and checks its room itself. */
const CHECK_TIMEOUT_SECONDS = 5;

/** True when LiveKit still lists the room under this name with this server id. */
export type RoomCheck = (name: string, sid: string) => Promise<boolean>;

export function liveKitRoomCheck(livekit: LiveKitApi): RoomCheck {
  const rooms = new RoomServiceClient(livekit.url.replace(/^ws/, "http"), livekit.apiKey, livekit.apiSecret, {
    requestTimeout: CHECK_TIMEOUT_SECONDS,
    failover: false,
  });
  return async (name, sid) => (await rooms.listRooms([name])).some((r) => r.sid === sid);
}

/**
 * The worker's job request handler: accepts a dispatch whose room is open,
 * declines one whose room is gone (no process is used for it). When LiveKit
 * cannot be asked, the job is accepted: the job checks its room again once
 * it has joined (./job.ts), so an answer is never lost to an API hiccup.
 */
export function openRoomsOnly(check: RoomCheck, logger: Logger, onDeclined: () => void = () => {}): (req: JobRequest) => Promise<void> {
  return async (req) => {
    const name = req.room?.name ?? "";
    const sid = req.room?.sid ?? "";
    let open = true;
    if (name && sid) {
      open = await check(name, sid).catch((err: unknown) => {
        logger.warn({ err, event: "room_check_failed", room: name }, "could not ask LiveKit whether the room is open; taking the job");
        return true;
      });
    }
    if (!open) {
      logger.info({ event: "dispatch_declined", room: name, job: req.id }, "the room was closed before the tutor came; not joining it");
      onDeclined();
      return req.reject();
    }
    return req.accept();
  };
}
