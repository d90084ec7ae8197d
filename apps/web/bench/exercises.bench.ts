// Exercise runners in headless Chromium against the real server: the first
// Python run (Pyodide fetched from our /pyodide/, started, 3 assertions run)
// and warm runs, against a plain JavaScript worker running the same
// 3-assertion exercise as the baseline; plus the initial JavaScript with the
// editor and runners left out (lazy).
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { startFakeLlm } from "@tutor/testkit";
import type { BenchResult } from "../../../scripts/bench-types.js";
import { chromiumAvailable, ensureWebBuilt, launchBrowser, startServerProcess, WEB_DIR } from "../e2e/harness.js";

type Manifest = Record<string, { file: string; isEntry?: boolean; imports?: string[] }>;

const PY = { code: "def add(a, b):\n    return a + b\n", tests: 'assert add(2, 3) == 5, "a"\nassert add(0, 0) == 0, "b"\nassert add(-1, 1) == 0, "c"' };
const JS = { code: "function add(a, b) { return a + b; }", tests: 'assert(add(2, 3) === 5, "a")\nassert(add(0, 0) === 0, "b")\nassert(add(-1, 1) === 0, "c")' };
const WARM_RUNS = 30;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export default async function run(): Promise<BenchResult[]> {
  if (!chromiumAvailable()) throw new Error("Chromium is needed for this benchmark (/usr/bin/chromium)");
  ensureWebBuilt();
  const dist = join(WEB_DIR, "dist");
  const manifest = JSON.parse(readFileSync(join(dist, ".vite", "manifest.json"), "utf8")) as Manifest;
  const file = (suffix: string) => Object.entries(manifest).find(([k]) => k.endsWith(suffix))![1].file;
  const entry = Object.values(manifest).find((c) => c.isEntry)!;
  const initial = new Set<string>();
  const walk = (key: string) => {
    const c = manifest[key];
    if (!c || initial.has(c.file)) return;
    initial.add(c.file);
    for (const i of c.imports ?? []) walk(i);
  };
  walk(Object.keys(manifest).find((k) => manifest[k] === entry)!);
  const gz = (f: string) => gzipSync(readFileSync(join(dist, f)), { level: 9 }).length;
  const initialGz = [...initial].reduce((n, f) => n + gz(f), 0);
  const lazyGz = ["ExerciseCard.tsx", "Editor.tsx"].reduce((n, k) => n + gz(file(k)), 0);
  const loadedLazy = ["ExerciseCard", "Editor", "exercise-"].some((n) => [...initial].some((f) => f.includes(n)));

  const llm = await startFakeLlm({ models: ["m"] });
  const server = await startServerProcess({ llmUrl: llm.url, models: ["m"], fastModel: "m" });
  const browser = await launchBrowser();
  try {
    const page = await browser.context.newPage();
    await page.goto(server.url);
    // A string, not a function: tsx would add helpers to a function that do not exist in the page.
    const measure = (workerUrl: string, job: { code: string; tests: string }, warm: number) =>
      page.evaluate(`(async ({ workerUrl, job, warm }) => {
        const w = new Worker(workerUrl, { type: "module" });
        let id = 0;
        const once = () => new Promise((resolve, reject) => {
          const my = ++id;
          const t0 = performance.now();
          w.onmessage = (e) => {
            if (e.data.id !== my) return;
            if (e.data.type === "report") resolve({ ms: performance.now() - t0, passed: e.data.report.tests.filter((t) => t.passed).length });
            if (e.data.type === "crash") reject(new Error(e.data.error));
          };
          w.postMessage({ type: "run", id: my, code: job.code, tests: job.tests, capChars: 2000 });
        });
        const first = await once();
        const runs = [];
        for (let i = 0; i < warm; i++) runs.push((await once()).ms);
        w.terminate();
        return { first: first.ms, passed: first.passed, runs };
      })(${JSON.stringify({ workerUrl, job, warm })})`) as Promise<{ first: number; passed: number; runs: number[] }>;
    // Worker scripts are emitted assets, not manifest chunks.
    const asset = (prefix: string) => `/assets/${readdirSync(join(dist, "assets")).find((f) => f.startsWith(prefix) && f.endsWith(".js"))!}`;
    const js = await measure(asset("exercise-js.worker-"), JS, WARM_RUNS);
    const py = await measure(asset("exercise-python.worker-"), PY, WARM_RUNS);
    if (js.passed !== 3 || py.passed !== 3) throw new Error(`expected 3 passing assertions, got js ${js.passed}, python ${py.passed}`);
    const f = (n: number) => `${n.toFixed(1)} ms`;
    return [
      {
        title: "Exercises: running a 3-assertion exercise in a worker (headless Chromium, real server)",
        columns: ["measure", "Python (Pyodide)", "baseline: plain JavaScript worker", "target"],
        rows: [
          ["first run (worker start + runtime download and start + run)", f(py.first), f(js.first), "Python ≤ 5000 ms"],
          [`warm run, median of ${WARM_RUNS}`, f(median(py.runs)), f(median(js.runs)), "Python ≤ 100 ms"],
          [`warm run, slowest of ${WARM_RUNS}`, f(Math.max(...py.runs)), f(Math.max(...js.runs)), ""],
        ],
        notes: [
          "First run: a fresh browser profile, so Pyodide's files (pyodide.asm.wasm, python_stdlib.zip, pyodide.asm.mjs) come from our server over loopback, not from the HTTP cache.",
          "Times are page-side, from posting the run to receiving the report: they include the message passing both ways.",
        ],
      },
      {
        title: "Exercises: initial JavaScript (gzip -9)",
        columns: ["measure", "value", "target"],
        rows: [
          ["initial JS (entry and its static imports)", `${(initialGz / 1024).toFixed(1)} KB`, "≤ 200 KB"],
          ["exercise card + CodeMirror (lazy, with the first card)", `${(lazyGz / 1024).toFixed(1)} KB`, "not in the initial load"],
          ["editor or runners in the initial load", loadedLazy ? "yes" : "no", "no"],
        ],
      },
    ];
  } finally {
    await browser.close();
    await server.stop();
    await llm.close();
  }
}
