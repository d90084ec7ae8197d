// One LiveKit job = one room = one student. @livekit/agents runs this module
// in a job process of its own (one process per room); `prewarm` builds the
// same wiring as the app server (store, models, auth, turns) from the same
// configuration, before a room is assigned when the worker keeps idle
// processes ready.
import { AutoSubscribe, defineAgent, type JobContext, type JobProcess } from "@livekit/agents";
import { RoomEvent, type RemoteParticipant } from "@livekit/rtc-node";
import { publicUser, type Logger, type VerifiedToken } from "@tutor/core";
import {
  DispatchMetadata,
  USER_ID_ATTRIBUTE,
  closeContext,
  createContext,
  createLogger,
  loadConfig,
  readEnv,
  sessionDeps,
  type AppContext,
} from "@tutor/server";
import { RoomBridge } from "./bridge.js";
import { startMetricsPush } from "./metrics.js";

/** How often a room re-reads its app session (logout, revocation) when no hub event may reach it. */
const ACCESS_CHECK_MS = 1_000;

interface ProcData extends Record<string, unknown> {
  app: AppContext;
  logger: Logger;
  metrics: ReturnType<typeof startMetricsPush>;
}

export default defineAgent<ProcData>({
  prewarm: async (proc: JobProcess<ProcData>) => {
    const config = loadConfig(readEnv());
    const logger = createLogger(config.logLevel).child({ component: "agent", pid: process.pid });
    proc.userData.logger = logger;
    proc.userData.app = await createContext(config, logger);
    proc.userData.metrics = startMetricsPush(proc.userData.app.metrics.registry);
  },

  entry: async (ctx: JobContext<ProcData>) => {
    const entered = performance.now();
    const { app, logger: procLog, metrics } = ctx.proc.userData;
    const log = procLog.child({ room: ctx.job.room?.name ?? "", job: ctx.job.id });

    const meta = DispatchMetadata.safeParse(safeJson(ctx.job.metadata));
    if (!meta.success) {
      // Only our server dispatches `tutor`, always with metadata; anything else is not ours to serve.
      log.warn({ event: "bad_dispatch" }, "dispatch without valid metadata; leaving");
      ctx.addShutdownCallback(() => closeContext(app).finally(() => metrics.final()));
      return ctx.shutdown("bad dispatch");
    }
    const { identity, user_id: userId } = meta.data;
    const bridgeLog = log.child({ user_id: userId });

    // Listening starts before joining: the student may send the moment we appear.
    const bridge = new RoomBridge(ctx.room, identity, bridgeLog);
    // Shutdown callbacks run concurrently: one callback, so an answer being cut is stored before storage closes.
    ctx.addShutdownCallback(async () => {
      await bridge.close();
      await closeContext(app);
      await metrics.final();
    });
    await ctx.connect(undefined, AutoSubscribe.AUDIO_ONLY);
    // The room was closed between the dispatch being taken and this join (a newer room of the same
    // student replaced it), and joining brought up a new, empty room under its name: close that, leave.
    const dispatched = ctx.job.room?.sid;
    const joinedSid = await ctx.room.getSid();
    if (dispatched && joinedSid && joinedSid !== dispatched) {
      log.info({ event: "room_closed_before_join" }, "the room was closed before the tutor came; leaving");
      await ctx.deleteRoom();
      return ctx.shutdown("room closed");
    }
    log.info({ event: "room_joined", connect_ms: Math.round(performance.now() - entered) }, "joined the room");

    const student = await waitForStudent(ctx, identity, Date.parse(meta.data.join_by));
    if (!student) {
      log.info({ event: "student_absent" }, "the student did not join in time; leaving");
      return ctx.shutdown("student did not join");
    }
    // The identity is in the join token we signed; so is the attribute, which participants cannot change.
    if (student.attributes[USER_ID_ATTRIBUTE] !== userId) {
      log.warn({ event: "identity_mismatch" }, "participant does not carry the dispatched user id; leaving");
      return ctx.shutdown("identity mismatch");
    }
    const user = await signedInUser(app, meta.data);
    if (!user) {
      bridge.send({ type: "error", code: "unauthenticated", message: "this sign-in has ended; sign in again and reconnect" });
      await bridge.flushed();
      log.info({ event: "session_ended" }, "the app session behind this room is no longer valid; leaving");
      return ctx.shutdown("session ended");
    }

    // The app session ends (logout anywhere, expiry, revocation): session_ended goes to the student, the
    // answer running stops and is stored, and the agent leaves — a room cannot sign in again.
    // A logout on the app server reaches this process through the PostgreSQL hub when there is one; on
    // SQLite (one machine, separate processes) nothing carries it here, so the token is also re-read.
    const accessCheck = setInterval(() => {
      void app.auth.ended(user).then(
        (reason) => {
          if (reason) void bridge.session?.endSignIn(reason);
        },
        (err: unknown) => bridgeLog.warn({ err, event: "access_check_failed" }, "could not check the app session"),
      );
    }, ACCESS_CHECK_MS);
    await bridge.start(
      sessionDeps(app, bridgeLog),
      user,
      student,
      (reason) => {
        clearInterval(accessCheck);
        bridgeLog.info({ event: "session_ended", reason }, "the app session behind this room ended; leaving");
        void bridge.close().finally(() => ctx.shutdown("session ended"));
      },
      { serverVoice: app.config.tts.provider === "openai" },
    );
    accessCheck.unref();
    // The hub came back after missing events (a PostgreSQL restart): the room gets a fresh
    // conversations_list, like a WebSocket on the app server (the room's job process is its own instance).
    const offResync = app.hubHandle.onResync(() => void bridge.session?.resync());
    ctx.addShutdownCallback(async () => offResync());
    bridgeLog.info({ event: "room_session_started" }, "serving the student");
    ctx.room.on(RoomEvent.ParticipantDisconnected, (p: RemoteParticipant) => {
      if (p.identity !== identity) return;
      clearInterval(accessCheck);
      bridgeLog.info({ event: "student_left" }, "the student left; closing the room session");
      void bridge.close().finally(() => ctx.shutdown("student left"));
    });
  },
});

function safeJson(text: string | undefined): unknown {
  try {
    return JSON.parse(text ?? "");
  } catch {
    return undefined;
  }
}

async function waitForStudent(ctx: JobContext<ProcData>, identity: string, deadline: number): Promise<RemoteParticipant | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), Math.max(0, deadline - Date.now()));
  });
  try {
    return await Promise.race([ctx.waitForParticipant(identity), late]);
  } catch {
    return undefined; // the room closed while waiting
  } finally {
    clearTimeout(timer);
  }
}

/** The user behind the room, if the app session the room was opened with is still valid. */
async function signedInUser(app: AppContext, meta: DispatchMetadata): Promise<VerifiedToken | undefined> {
  const [token, user] = await Promise.all([app.store.findToken(meta.jti), app.store.findUserById(meta.user_id)]);
  if (!token || !user || token.user_id !== user.id || token.revoked_at !== null) return undefined;
  if (Date.parse(token.expires_at) <= Date.now()) return undefined;
  return { user: publicUser(user), userId: user.id, jti: token.jti, expires_at: token.expires_at };
}
