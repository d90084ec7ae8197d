// The Python runner: Pyodide in a module worker (terminated by the page on a
// time limit). The runtime comes from our own server (/pyodide/, the npm
// package's files), fetched with progress on the first run and then from
// the browser's cache. The network is taken away before any student code runs.
import type { PyodideInterface, loadPyodide as LoadPyodide } from "pyodide";
import { PY_HARNESS } from "./harness.py.js";
import { lockNetwork, type FromWorker, type RunReport, type ToWorker } from "./protocol.js";

const scope = self as unknown as Record<string, unknown> & { postMessage(m: FromWorker): void };
const INDEX_URL = new URL("/pyodide/", self.location.origin).href;
const BIG_FILES = ["pyodide.asm.wasm", "python_stdlib.zip"];

/** Fetches the two large files once, counting bytes, so loadPyodide then finds them in the HTTP cache. */
async function prefetch(): Promise<void> {
  const heads = await Promise.all(BIG_FILES.map((f) => fetch(INDEX_URL + f)));
  const total = heads.reduce((n, r) => n + Number(r.headers.get("content-length") ?? 0), 0);
  let loaded = 0;
  let last = 0;
  await Promise.all(
    heads.map(async (r) => {
      if (!r.ok || !r.body) throw new Error(`could not load the Python runtime (${r.status} for ${r.url})`);
      const reader = r.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        loaded += value.byteLength;
        const now = performance.now();
        if (now - last > 100) {
          last = now;
          scope.postMessage({ type: "progress", stage: "download", loaded, total });
        }
      }
    }),
  );
}

let ready: Promise<PyodideInterface> | undefined;
function load(): Promise<PyodideInterface> {
  ready ??= (async () => {
    await prefetch();
    scope.postMessage({ type: "progress", stage: "start", loaded: 1, total: 1 });
    const { loadPyodide } = (await import(/* @vite-ignore */ `${INDEX_URL}pyodide.mjs`)) as { loadPyodide: typeof LoadPyodide };
    const py = await loadPyodide({ indexURL: INDEX_URL, stdout: () => {}, stderr: () => {} });
    await py.runPythonAsync(PY_HARNESS);
    lockNetwork(scope);
    return py;
  })();
  return ready;
}

self.onmessage = async (event: MessageEvent<ToWorker>) => {
  const { id, code, tests, capChars } = event.data;
  try {
    const py = await load();
    scope.postMessage({ type: "started", id });
    const run = py.globals.get("__tutor_run") as (code: string, tests: string, cap: number) => string;
    const report = JSON.parse(run(code, tests, capChars)) as RunReport;
    scope.postMessage({ type: "report", id, report });
  } catch (e) {
    // Pyodide itself broke (e.g. a fatal error): the page replaces this worker.
    scope.postMessage({ type: "crash", id, error: e instanceof Error ? e.message : String(e) });
  }
};
