// Messages between the page and an exercise runner worker, and what a run
// reports. Shared by both runners so the card shows them alike.

/** One assertion (a top-level statement of the tests block) and how it went. */
export interface TestResult {
  /** The assertion's source, as written by the tutor. */
  name: string;
  /** Its line in the tests block (1-based). */
  line: number;
  passed: boolean;
  /** Why it failed (the assertion's message, or the error it raised). */
  message: string;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface RunReport {
  /** Running the student's code before the tests: an error here fails every test. */
  setup: { ok: boolean; error: string; stdout: string; stderr: string; ms: number };
  tests: TestResult[];
  ms: number;
}

export type ToWorker = { type: "run"; id: number; code: string; tests: string; capChars: number };

export type FromWorker =
  | { type: "progress"; stage: "download" | "start"; loaded: number; total: number }
  | { type: "started"; id: number }
  | { type: "report"; id: number; report: RunReport }
  | { type: "crash"; id: number; error: string };

/** Output kept per stream and test; a flood of prints is cut, not carried. */
export const OUTPUT_CAP_CHARS = 2_000;

export function cap(text: string, max = OUTPUT_CAP_CHARS): string {
  return text.length <= max ? text : `${text.slice(0, max)}\n… (${(text.length - max).toLocaleString("en-US")} more characters cut)`;
}

/**
 * Takes the network away from a worker before it runs a student's code
 * (the worker's CSP blocks it too): fetch, XMLHttpRequest, WebSocket,
 * EventSource, importScripts, nested workers.
 */
export function lockNetwork(scope: Record<string, unknown>): void {
  const refuse = (name: string) =>
    function blocked(): never {
      throw new Error(`${name} is not available in exercises: the code runs offline`);
    };
  for (const name of ["fetch", "XMLHttpRequest", "WebSocket", "EventSource", "importScripts", "Worker", "SharedWorker", "WebTransport"]) {
    try {
      Object.defineProperty(scope, name, { value: refuse(name), writable: false, configurable: false });
    } catch {
      // already locked
    }
  }
}
