// `npm start`: build what changed, then run the server in this process's place.
import { spawn } from "node:child_process";
import { resolve } from "node:path";
import { buildAll } from "./build.mjs";

const root = resolve(import.meta.dirname, "..");
await buildAll();
const child = spawn(process.execPath, ["--enable-source-maps", resolve(root, "apps/server/dist/main.js")], { stdio: "inherit" });
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => child.kill(sig));
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
