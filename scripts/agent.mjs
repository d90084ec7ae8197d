// `npm run agent [-- --max-rooms N --idle-processes N --health-port N]`:
// build the LiveKit agent worker and run it (the scale-out shape: as many
// workers on as many machines as needed, all registered as `tutor`).
import { spawn } from "node:child_process";
import { resolve } from "node:path";
import { buildAgent } from "./build.mjs";

const root = resolve(import.meta.dirname, "..");
await buildAgent();
const child = spawn(process.execPath, ["--enable-source-maps", resolve(root, "apps/agent/dist/main.js"), ...process.argv.slice(2)], { stdio: "inherit" });
// `on`: Ctrl+C reaches npm and the worker both; the worker leaves its rooms and exits by itself.
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => child.kill(sig));
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
