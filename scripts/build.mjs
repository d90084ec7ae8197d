// Builds what `npm start` runs: the web app (Vite) when its sources changed,
// and the server bundle (esbuild; workspace packages inlined, npm packages external).
import { existsSync, readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { spawnSync } from "node:child_process";
import { build } from "esbuild";

const root = resolve(import.meta.dirname, "..");
const force = process.argv.includes("--force");

function newest(path) {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let max = st.mtimeMs;
  for (const e of readdirSync(path)) if (e !== "node_modules" && e !== "dist") max = Math.max(max, newest(join(path, e)));
  return max;
}

export async function buildAll({ quiet = false } = {}) {
  const log = (m) => quiet || console.log(m);
  const web = join(root, "apps/web");
  if (existsSync(join(web, "vite.config.ts"))) {
    const built = join(web, "dist/index.html");
    const sources = Math.max(newest(join(web, "src")), newest(join(web, "index.html")), newest(join(web, "public")), newest(join(root, "packages/protocol/src")));
    if (force || !existsSync(built) || statSync(built).mtimeMs < sources) {
      log("building the web app…");
      const r = spawnSync(process.execPath, [join(root, "node_modules/vite/bin/vite.js"), "build", "--logLevel", "warn"], {
        cwd: web,
        stdio: "inherit",
        // A NODE_ENV inherited from a test runner would bundle React's development build.
        env: { ...process.env, NODE_ENV: "production" },
      });
      if (r.status !== 0) throw new Error("web build failed");
    }
  }
  await buildServer();
  log(`built ${join(root, "apps/server/dist/main.js")}`);
  await buildAgent();
  log(`built ${join(root, "apps/agent/dist/main.js")}`);
}

/** Inline our own TypeScript packages; load everything from npm at run time. */
const externalNpmPackages = {
  name: "external-npm-packages",
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => (args.path.startsWith("@tutor/") ? undefined : { path: args.path, external: true }));
  },
};

const nodeBundle = { bundle: true, platform: "node", format: "esm", target: "node20", sourcemap: true, logLevel: "warning", plugins: [externalNpmPackages] };

export async function buildServer() {
  await build({ ...nodeBundle, entryPoints: [join(root, "apps/server/src/main.ts")], outfile: join(root, "apps/server/dist/main.js") });
}

/** The LiveKit agent: the worker and the job module it forks per room, side by side in apps/agent/dist. */
export async function buildAgent() {
  await build({
    ...nodeBundle,
    entryPoints: [join(root, "apps/agent/src/main.ts"), join(root, "apps/agent/src/job.ts")],
    outdir: join(root, "apps/agent/dist"),
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  buildAll().catch((err) => {
    console.error(err.message ?? err);
    process.exit(1);
  });
}
