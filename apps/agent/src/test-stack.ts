// The whole set-up of a LiveKit suite in one call: a real LiveKit server, the
// fake model server, an app server and our agent worker beside it (the same
// configuration), and students who join rooms through the token route.
import { dispose } from "@livekit/rtc-node";
import { behave, startFakeLlm, type FakeLlm, type FakeStt } from "@tutor/testkit";
import { FAST_MODEL, MAIN_MODEL, startTestServer, type TestServer } from "@tutor/server/test-helpers";
import {
  Student,
  keepLiveKitLog,
  leaveAll,
  liveKitEnv,
  registerStudent,
  requestRoom,
  startAgentBeside,
  startLiveKit,
  type AgentProcess,
  type LiveKitServer,
  type RoomGrant,
} from "./test-harness.js";

/** The guard says yes; a title request is answered with a title. */
const TRIAGE_YES = behave.compute((r) => (/title/i.test(JSON.stringify(r.messages)) ? "Binary Search Trees" : "YES"));

/** What a LiveKit suite runs against: a LiveKit server, the fake model server, an app server and our worker beside it. */
export interface RoomStack {
  lk: LiveKitServer;
  fake: FakeLlm;
  srv: TestServer;
  agent: AgentProcess;
  /** The configuration the app server and the worker share: LiveKit's variables and the suite's own. */
  env: Record<string, string>;
  /** Every student who joined through the stack (`leaveAll` them after each test). */
  students: Student[];
  /** A new user on the app server. */
  register(): Promise<{ bearer: string; userId: string; username: string }>;
  /** `student` (a new one by default) joins the room `grant` is for; resolves once the tutor is ready. */
  join(grant: RoomGrant, student?: Student): Promise<Student>;
  /** A new user asks for a room and joins it as `student`. */
  joinedStudent(student?: Student): Promise<{ student: Student; bearer: string; userId: string; username: string; grant: RoomGrant }>;
  /** The students leave; the worker, app server, model server and LiveKit stop (LIVEKIT_TEST_LOG kept first). */
  close(): Promise<void>;
}

/**
 * Starts a RoomStack: users are named `${prefix}${pid}_${n}`; `env` is added
 * to LiveKit's variables (voice services, a database), and may still be
 * coming (a database starting meanwhile). Stops what it started if a part fails.
 */
export async function startRoomStack(bin: string, opts: { prefix: string; env?: Record<string, string> | Promise<Record<string, string>> }): Promise<RoomStack> {
  const started: { close(): Promise<void> }[] = [];
  const stopAll = async () => {
    for (const part of started.splice(0).reverse()) await part.close().catch(() => undefined);
  };
  const keep = <T>(part: T, close: (p: T) => Promise<void>): T => {
    started.push({ close: () => close(part) });
    return part;
  };
  try {
    // Settled, not raced: a part still starting when another failed would be left running.
    const [lkR, fakeR, envR] = await Promise.allSettled([startLiveKit(bin), startFakeLlm({ models: [MAIN_MODEL, FAST_MODEL] }), opts.env ?? {}]);
    if (lkR.status === "fulfilled") keep(lkR.value, (l) => l.stop());
    if (fakeR.status === "fulfilled") keep(fakeR.value, (f) => f.close());
    const [lk, fake, extra] = [value(lkR), value(fakeR), value(envR)];
    fake.setDefault(FAST_MODEL, TRIAGE_YES);
    const env = { ...liveKitEnv(lk), ...extra };
    const srv = keep(await startTestServer({ fake, env }), (s) => s.close());
    // The worker reads the same configuration as the server (same DATA_DIR, same model server).
    const agent = keep(await startAgentBeside({ env, dataDir: srv.dataDir, llmUrl: fake.url, models: [MAIN_MODEL, FAST_MODEL] }), (a) => a.stop());
    const students: Student[] = [];
    let seq = 0;
    const register = () => registerStudent(srv.url, `${opts.prefix}${process.pid}_${++seq}`);
    const join = async (grant: RoomGrant, student = new Student()) => {
      students.push(student);
      await student.join(grant.url, grant.token);
      return student;
    };
    return {
      lk,
      fake,
      srv,
      agent,
      env,
      students,
      register,
      join,
      async joinedStudent(student) {
        const user = await register();
        const { status, body: grant } = await requestRoom(srv.url, user.bearer);
        if (status !== 200) throw new Error(`no room for ${user.username}: ${status} ${JSON.stringify(grant)}`);
        return { ...user, grant, student: await join(grant, student) };
      },
      async close() {
        keepLiveKitLog(agent, lk);
        await leaveAll(students);
        await stopAll();
        await dispose();
      },
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

function value<T>(r: PromiseSettledResult<T>): T {
  if (r.status === "rejected") throw r.reason;
  return r.value;
}

/** The variables that point the app server and the worker at the fake transcription server. */
export function fakeSttEnv(stt: FakeStt): Record<string, string> {
  return { STT_BASE_URL: stt.url, STT_API_KEY: "stt-key", STT_MODEL: "whisper-test" };
}
