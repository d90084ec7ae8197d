// `npm start`: build what changed, then run the server in this process's
// place — and, when LIVEKIT_* are set, the LiveKit agent worker next to it
// (the agent decides from the same configuration; it exits at once when
// LiveKit is not configured). The agent is restarted if it stops: text chat
// and WebSocket voice never depend on it.
import { spawn } from "node:child_process";
import { resolve } from "node:path";
import { buildAll } from "./build.mjs";

const root = resolve(import.meta.dirname, "..");
await buildAll();
const node = (script, args = []) => spawn(process.execPath, ["--enable-source-maps", resolve(root, script), ...args], { stdio: "inherit" });

const server = node("apps/server/dist/main.js");
let agent;
let stopping = false;
let restarts = 0;
function startAgent() {
  const started = Date.now();
  agent = node("apps/agent/dist/main.js", ["--if-configured"]);
  agent.on("exit", (code, signal) => {
    agent = undefined;
    if (stopping || code === 0) return;
    // A LiveKit server that stays away makes the worker give up after its retries; try again, more slowly each time.
    if (Date.now() - started > 5 * 60_000) restarts = 0;
    const delay = Math.min(60, 5 * 2 ** restarts++);
    console.error(`cs-tutor: the LiveKit agent stopped (${signal ?? `exit ${code}`}); restarting it in ${delay} s`);
    setTimeout(() => stopping || startAgent(), delay * 1000).unref();
  });
}
startAgent();

for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, () => {
    stopping = true;
    server.kill(sig);
    agent?.kill(sig);
  });
}
server.on("exit", (code, signal) => {
  stopping = true;
  const done = () => process.exit(code ?? (signal ? 1 : 0));
  if (!agent) return done();
  agent.once("exit", done);
  agent.kill("SIGTERM");
});
