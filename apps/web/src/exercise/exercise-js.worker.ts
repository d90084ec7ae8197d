// The JavaScript runner: a plain module worker (terminated by the page on a
// time limit). The student's code and every test share one function scope,
// so tests see the student's declarations; each test is its own closure, so
// one failing does not hide the others.
import { splitTests } from "./js-tests.js";
import { cap, lockNetwork, type FromWorker, type RunReport, type TestResult, type ToWorker } from "./protocol.js";

const scope = self as unknown as Record<string, unknown> & { postMessage(m: FromWorker): void };
lockNetwork(scope);

class AssertionError extends Error {
  override name = "AssertionError";
}
function assert(condition: unknown, message?: string): void {
  if (!condition) throw new AssertionError(message || "assertion failed");
}

let out: string[] = [];
let err: string[] = [];
const show = (v: unknown) => (typeof v === "string" ? v : (() => { try { return JSON.stringify(v); } catch { return String(v); } })());
console.log = console.info = console.debug = (...a: unknown[]) => void out.push(a.map(show).join(" "));
console.error = console.warn = (...a: unknown[]) => void err.push(a.map(show).join(" "));
const take = (capChars: number) => {
  const r = { stdout: cap(out.join("\n"), capChars), stderr: cap(err.join("\n"), capChars) };
  out = [];
  err = [];
  return r;
};
const describe = (e: unknown) => (e instanceof Error ? `${e.name}: ${e.message}` : `thrown: ${show(e)}`);

self.onmessage = (event: MessageEvent<ToWorker>) => {
  const { id, code, tests, capChars } = event.data;
  scope.postMessage({ type: "started", id });
  const t0 = performance.now();
  const parts = splitTests(tests);
  const body = `"use strict";\n${code}\n;return [${parts.map((p) => `() => {\n${p.src}\n}`).join(",\n")}];`;
  let fns: (() => void)[] = [];
  const setup: RunReport["setup"] = { ok: true, error: "", stdout: "", stderr: "", ms: 0 };
  try {
    fns = new Function("assert", "AssertionError", body)(assert, AssertionError) as (() => void)[];
  } catch (e) {
    setup.ok = false;
    setup.error = describe(e);
  }
  Object.assign(setup, take(capChars), { ms: performance.now() - t0 });
  const results: TestResult[] = parts.map((p, i) => {
    const start = performance.now();
    let passed = false;
    let message = setup.ok ? "" : `not run: your code failed first (${setup.error})`;
    if (setup.ok) {
      try {
        fns[i]!();
        passed = true;
      } catch (e) {
        message = e instanceof AssertionError ? e.message : describe(e);
      }
    }
    return { name: p.src.split("\n")[0]!.trim(), line: p.line, passed, message, ...take(capChars), ms: performance.now() - start };
  });
  scope.postMessage({ type: "report", id, report: { setup, tests: results, ms: performance.now() - t0 } });
};
