// The page's side of the runners: one dedicated worker per language, made on
// first use, terminated and made again on a time limit, a crash or Reset.
// Nothing here runs student code on the page's thread.
import type { ExerciseLanguage, ExerciseResults } from "@tutor/protocol";
import { MAX_EXERCISE_OUTPUT_CHARS } from "@tutor/protocol";
import { OUTPUT_CAP_CHARS, type FromWorker, type RunReport, type ToWorker } from "./protocol.js";

export const RUN_TIME_LIMIT_MS = 5_000;
/** Loading Pyodide the first time is not the student's code: it gets its own, longer limit. */
export const LOAD_TIME_LIMIT_MS = 120_000;

export type RunOutcome =
  | { kind: "report"; report: RunReport }
  | { kind: "timeout"; limitMs: number }
  | { kind: "crash"; error: string };

export interface Progress {
  stage: "download" | "start";
  loaded: number;
  total: number;
}

function makeWorker(language: ExerciseLanguage): Worker {
  // Separate literal URLs so Vite bundles each worker as its own file (the server gives each its CSP by name).
  return language === "python"
    ? new Worker(new URL("./exercise-python.worker.ts", import.meta.url), { type: "module", name: "exercise-python" })
    : new Worker(new URL("./exercise-js.worker.ts", import.meta.url), { type: "module", name: "exercise-js" });
}

export class Runner {
  #worker: Worker | undefined;
  #seq = 0;
  #stop: (() => void) | undefined;
  /** Whether the runtime has been loaded in the current worker (Python: Pyodide is up). */
  warm = false;

  constructor(
    readonly language: ExerciseLanguage,
    private readonly limitMs = RUN_TIME_LIMIT_MS,
  ) {}

  run(code: string, tests: string, onProgress?: (p: Progress) => void): Promise<RunOutcome> {
    this.#stop?.();
    const worker = (this.#worker ??= makeWorker(this.language));
    const id = ++this.#seq;
    return new Promise<RunOutcome>((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const arm = (ms: number) => {
        clearTimeout(timer);
        timer = setTimeout(() => finish({ kind: "timeout", limitMs: ms }, true), ms);
      };
      const finish = (outcome: RunOutcome, kill: boolean) => {
        clearTimeout(timer);
        worker.removeEventListener("message", onMessage);
        worker.removeEventListener("error", onError);
        this.#stop = undefined;
        if (kill) this.reset();
        resolve(outcome);
      };
      const onMessage = (e: MessageEvent<FromWorker>) => {
        const m = e.data;
        if (m.type === "progress") return onProgress?.(m);
        if (m.id !== id) return;
        if (m.type === "started") {
          this.warm = true;
          return arm(this.limitMs);
        }
        if (m.type === "report") return finish({ kind: "report", report: m.report }, false);
        finish({ kind: "crash", error: m.error }, true);
      };
      const onError = (e: ErrorEvent) => {
        e.preventDefault();
        finish({ kind: "crash", error: e.message || "the runner stopped unexpectedly" }, true);
      };
      worker.addEventListener("message", onMessage);
      worker.addEventListener("error", onError);
      this.#stop = () => finish({ kind: "crash", error: "stopped" }, true);
      arm(this.warm ? this.limitMs : LOAD_TIME_LIMIT_MS);
      worker.postMessage({ type: "run", id, code, tests, capChars: OUTPUT_CAP_CHARS } satisfies ToWorker);
    });
  }

  /** Ends the worker (an endless loop dies with it); the next run makes a new one. */
  reset(): void {
    this.#worker?.terminate();
    this.#worker = undefined;
    this.warm = false;
  }
}

/** The shared runner per language: one Pyodide per page, not one per card. */
const runners = new Map<ExerciseLanguage, Runner>();
export function runnerFor(language: ExerciseLanguage): Runner {
  let r = runners.get(language);
  if (!r) runners.set(language, (r = new Runner(language)));
  return r;
}

/** What a submission carries: counts, and the failures and output as text within the protocol's cap. */
export function toResults(outcome: RunOutcome): ExerciseResults {
  if (outcome.kind !== "report") {
    const why = outcome.kind === "timeout" ? `Stopped: the code ran longer than ${outcome.limitMs / 1000} s (an endless loop?)` : `The runner crashed: ${outcome.error}`;
    return { passed: 0, failed: 0, total: 0, output: why.slice(0, MAX_EXERCISE_OUTPUT_CHARS) };
  }
  const { setup, tests } = outcome.report;
  const passed = tests.filter((t) => t.passed).length;
  const lines: string[] = [];
  if (!setup.ok) lines.push(`My code raised: ${setup.error}`);
  if (setup.stdout) lines.push(`stdout:\n${setup.stdout}`);
  if (setup.stderr) lines.push(`stderr:\n${setup.stderr}`);
  for (const t of tests) {
    lines.push(`${t.passed ? "PASS" : "FAIL"} test line ${t.line}: ${t.name}${t.passed ? "" : `\n  ${t.message}`}`);
    if (t.stdout) lines.push(`  stdout: ${t.stdout}`);
    if (t.stderr) lines.push(`  stderr: ${t.stderr}`);
  }
  let output = lines.join("\n");
  if (output.length > MAX_EXERCISE_OUTPUT_CHARS) output = `${output.slice(0, MAX_EXERCISE_OUTPUT_CHARS - 20)}\n… (output cut)`;
  return { passed, failed: tests.length - passed, total: tests.length, output };
}
