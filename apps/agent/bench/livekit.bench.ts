// What the LiveKit carrier costs over the built-in WebSocket, on one machine:
// a protocol round trip (ping -> pong) and a whole text turn, both measured
// on the same app server and fake model in the same run; plus how long a
// student waits from asking for a room to the tutor agent being ready in it
// (its `auth_response`). Real parts: a LiveKit dev server on loopback, our
// agent worker as its own process, a student on @livekit/rtc-node.
import { dispose } from "@livekit/rtc-node";
import type { BenchResult } from "../../../scripts/bench-types.js";
import { behave, startFakeLlm } from "@tutor/testkit";
import { FAST_MODEL, MAIN_MODEL, WsClient, signUp, startTestServer } from "@tutor/server/test-helpers";
import { DEV_KEY, DEV_SECRET, Student, findLiveKitServer, startAgent, startLiveKit } from "../src/test-harness.js";

const PINGS = 200;
const TURNS = 10;
const ROOMS = 4;
/** Long enough for the worker to have wired its next idle job process. */
const WARM_UP_MS = 6_000;

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const ms = (x: number) => x.toFixed(1);

export default async function run(): Promise<BenchResult> {
  const title = "LiveKit data channel vs WebSocket (loopback)";
  const bin = findLiveKitServer();
  if (!bin) {
    return { title, columns: ["result"], rows: [["skipped: LiveKit server binary not found (go install github.com/livekit/livekit-server/cmd/server@v1.13.5)"]] };
  }
  const lk = await startLiveKit(bin);
  const fake = await startFakeLlm({ models: [MAIN_MODEL, FAST_MODEL] });
  fake.setDefault(FAST_MODEL, behave.reply("YES"));
  fake.setDefault(MAIN_MODEL, behave.reply("A stack is last in, first out. Push and pop are constant time."));
  const env = { LIVEKIT_URL: lk.url, LIVEKIT_API_KEY: DEV_KEY, LIVEKIT_API_SECRET: DEV_SECRET };
  const srv = await startTestServer({ fake, env });
  const agent = await startAgent(
    {
      ...env,
      DATA_DIR: srv.dataDir,
      LLM_BASE_URL: fake.url,
      LLM_API_KEY: "k",
      LLM_MODELS: `${MAIN_MODEL},${FAST_MODEL}`,
      LLM_FAST_MODEL: FAST_MODEL,
      LOG_LEVEL: "info",
      NODE_ENV: "production",
    },
    ["--health-port", "0"],
    { bundle: true },
  );
  const students: Student[] = [];
  try {
    const ws = await WsClient.connect(srv.wsUrl);
    const { token: bearer } = await signUp(ws);

    // Room set-up: token request -> the agent's ready message, with a prewarmed job process waiting (rooms spaced out).
    // The first room is not counted: it pays this process's one-time WebRTC start-up.
    const joins: number[] = [];
    for (let i = 0; i <= ROOMS; i++) {
      await new Promise((r) => setTimeout(r, i === 0 ? 0 : WARM_UP_MS));
      const t0 = performance.now();
      const r = (await (await fetch(`${srv.url}/api/livekit/token`, { method: "POST", headers: { authorization: `Bearer ${bearer}` } })).json()) as {
        url: string;
        token: string;
      };
      const s = new Student();
      students.push(s);
      await s.join(r.url, r.token);
      if (i > 0) joins.push(performance.now() - t0);
      if (i < ROOMS) await s.leave();
    }
    const student = students.at(-1)!;

    const roundTrips = async (send: () => Promise<unknown>) => {
      const out: number[] = [];
      for (let i = 0; i < PINGS; i++) {
        const t0 = performance.now();
        await send();
        out.push(performance.now() - t0);
      }
      return out;
    };
    const wsPing = await roundTrips(() => ws.request({ type: "ping" }, "pong"));
    const lkPing = await roundTrips(() => student.request({ type: "ping" }, "pong"));

    const turns = async (ask: (text: string) => Promise<{ from: number }>, wait: (from: number) => Promise<unknown>) => {
      const out: number[] = [];
      for (let i = 0; i < TURNS; i++) {
        const t0 = performance.now();
        const { from } = await ask(`What is a stack? (${i})`);
        await wait(from);
        out.push(performance.now() - t0);
      }
      return out;
    };
    const wsTurn = await turns(
      async (text) => {
        const from = ws.messages.length;
        ws.send({ type: "text_input", text, teaching_mode: "qa", speak: false });
        return { from };
      },
      async (from) => {
        await ws.waitFor((m) => m.type === "ai_response_delta", 30_000, from);
        await ws.waitFor((m) => m.type === "conversation_updated", 30_000, from);
      },
    );
    const lkTurn = await turns(
      async (text) => {
        const from = student.messages.length;
        await student.send({ type: "text_input", text, teaching_mode: "qa", speak: false });
        return { from };
      },
      async (from) => {
        await student.waitFor((m) => m.type === "ai_response_delta", 30_000, from);
        await student.waitFor((m) => m.type === "conversation_updated", 30_000, from);
      },
    );
    const row = (what: string, base: number[], lkv: number[]) => [what, ms(pct(base, 50)), ms(pct(base, 95)), ms(pct(lkv, 50)), ms(pct(lkv, 95))];
    await ws.close();
    return {
      title,
      columns: ["measure", "WebSocket p50 ms", "WebSocket p95 ms", "LiveKit p50 ms", "LiveKit p95 ms"],
      rows: [
        row(`ping -> pong (${PINGS} sequential)`, wsPing, lkPing),
        row(`text turn: question -> turn complete (${TURNS}, instant fake model)`, wsTurn, lkTurn),
        ["token request -> tutor ready in the room (prewarmed process)", "—", "—", ms(pct(joins, 50)), ms(Math.max(...joins))],
      ],
      notes: [
        "Same app server, fake OpenAI-compatible model and machine for both carriers; LiveKit runs in --dev mode on loopback.",
        `Room set-up over ${ROOMS} rooms (the last column is the worst), the worker run from its esbuild bundle as \`npm run agent\` runs it. ` +
          "Job processes are wired one at a time (library design), so in a burst the rooms beyond the idle processes wait for one process start each.",
      ],
    };
  } finally {
    for (const s of students) await s.leave().catch(() => undefined);
    await agent.stop();
    await srv.close();
    await fake.close();
    await lk.stop();
    await dispose();
  }
}
