// One exercise of an answer: the editor with the starter code, Run tests,
// the result of every assertion, Reset, and Send to tutor (after a run).
// Loaded lazily with the editor (its own chunk), so pages without exercises
// never fetch CodeMirror or a runner.
import { Suspense, lazy, useCallback, useEffect, useRef, useState } from "react";
import type { Exercise } from "@tutor/core/course";
import type { ExerciseResults } from "@tutor/protocol";
import { runnerFor, toResults, type Progress, type RunOutcome } from "./runner.js";

const Editor = lazy(() => import("./Editor.js"));

const NAMES = { python: "Python", javascript: "JavaScript" } as const;

export interface ExerciseCardProps {
  exercise: Exercise;
  messageId: string;
  /** Sends the code and results to the tutor; returns an error to show, or null. */
  onSend: ((code: string, results: ExerciseResults) => string | null) | null;
}

const storageKey = (messageId: string, index: number) => `tutor.exercise.${messageId}.${index}`;

function loadCode(key: string, fallback: string): string {
  try {
    return localStorage.getItem(key) ?? fallback;
  } catch {
    return fallback;
  }
}

function saveCode(key: string, code: string, starter: string): void {
  try {
    if (code === starter) localStorage.removeItem(key);
    else localStorage.setItem(key, code);
  } catch {
    // storage full or blocked: the code lives on in the page
  }
}

const ms = (n: number) => (n < 1 ? "<1 ms" : `${Math.round(n)} ms`);

export default function ExerciseCard({ exercise, messageId, onSend }: ExerciseCardProps) {
  const key = storageKey(messageId, exercise.index);
  const [code, setCode] = useState(() => loadCode(key, exercise.starter));
  const [version, setVersion] = useState(0);
  const [running, setRunning] = useState(false);
  const [progress, setProgress] = useState<Progress | null>(null);
  const [outcome, setOutcome] = useState<RunOutcome | null>(null);
  const [ranCode, setRanCode] = useState<string | null>(null);
  const [sendError, setSendError] = useState<string | null>(null);
  const [sent, setSent] = useState(false);
  const mounted = useRef(true);
  useEffect(() => () => void (mounted.current = false), []);

  const onChange = useCallback(
    (next: string) => {
      setCode(next);
      saveCode(key, next, exercise.starter);
    },
    [key, exercise.starter],
  );

  const run = async () => {
    setRunning(true);
    setSent(false);
    setSendError(null);
    const runner = runnerFor(exercise.language);
    const result = await runner.run(code, exercise.tests, (p) => mounted.current && setProgress(p));
    if (!mounted.current) return;
    setProgress(null);
    setOutcome(result);
    setRanCode(code);
    setRunning(false);
  };

  const reset = () => {
    runnerFor(exercise.language).reset();
    setRunning(false);
    setProgress(null);
    setOutcome(null);
    setRanCode(null);
    setSent(false);
    setCode(exercise.starter);
    saveCode(key, exercise.starter, exercise.starter);
    setVersion((v) => v + 1);
  };

  const send = () => {
    if (!outcome || ranCode === null || !onSend) return;
    const err = onSend(ranCode, toResults(outcome));
    setSendError(err);
    if (!err) setSent(true);
  };

  const report = outcome?.kind === "report" ? outcome.report : null;
  const passed = report ? report.tests.filter((t) => t.passed).length : 0;
  const total = report?.tests.length ?? 0;
  const label = `Exercise ${exercise.index + 1} (${NAMES[exercise.language]})`;

  return (
    <section
      className="exercise-card my-4 rounded-xl border border-indigo-200 bg-indigo-50/40 p-3 dark:border-indigo-900 dark:bg-indigo-950/30"
      aria-label={label}
      data-exercise-index={exercise.index}
    >
      <header className="mb-2 flex items-center justify-between gap-2">
        <h3 className="m-0 text-sm font-semibold text-indigo-900 dark:text-indigo-200">{label}</h3>
        <span className="text-xs text-slate-500 dark:text-slate-400">Edit the code, then run the tests</span>
      </header>
      <Suspense fallback={<pre className="exercise-editor-fallback m-0 overflow-x-auto rounded-md border border-slate-300 p-2 text-sm dark:border-slate-600">{code}</pre>}>
        <Editor language={exercise.language} value={code} onChange={onChange} label={`${label}: your code`} version={version} />
      </Suspense>
      <details className="mt-2 text-sm">
        <summary className="cursor-pointer text-slate-600 dark:text-slate-300">The tests</summary>
        <pre className="mt-1 overflow-x-auto rounded-md bg-slate-100 p-2 text-xs dark:bg-slate-900">{exercise.tests}</pre>
      </details>
      <div className="mt-3 flex flex-wrap items-center gap-2">
        <button type="button" className="exercise-run rounded-md bg-indigo-600 px-3 py-1.5 text-sm font-medium text-white hover:bg-indigo-700 disabled:opacity-60 dark:bg-indigo-500" onClick={() => void run()} disabled={running}>
          {running ? "Running…" : "Run tests"}
        </button>
        <button type="button" className="exercise-reset rounded-md border border-slate-300 px-3 py-1.5 text-sm hover:bg-slate-100 dark:border-slate-600 dark:hover:bg-slate-800" onClick={reset}>
          Reset
        </button>
        <button
          type="button"
          className="exercise-send rounded-md border border-indigo-400 px-3 py-1.5 text-sm font-medium text-indigo-800 hover:bg-indigo-100 disabled:cursor-not-allowed disabled:opacity-50 dark:border-indigo-500 dark:text-indigo-200 dark:hover:bg-indigo-900"
          onClick={send}
          disabled={!outcome || running || sent || !onSend}
          title={outcome ? "Send your code and the results to the tutor" : "Run the tests first"}
        >
          {sent ? "Sent" : "Send to tutor"}
        </button>
        <span className="exercise-status text-sm" role="status" aria-live="polite">
          {progress
            ? progress.stage === "download"
              ? `Preparing Python… ${progress.total ? Math.round((100 * progress.loaded) / progress.total) : 0}%`
              : "Preparing Python… starting"
            : running
              ? "Running…"
              : report
                ? `${passed} of ${total} tests passed (${ms(report.ms)})`
                : ""}
        </span>
      </div>
      {progress ? <progress className="mt-2 h-1.5 w-full" max={progress.total || 1} value={progress.loaded} aria-label="Preparing Python" /> : null}
      {sendError ? <p className="mt-2 text-sm text-red-700 dark:text-red-400" role="alert">{sendError}</p> : null}
      {outcome && outcome.kind !== "report" ? (
        <p className="exercise-stopped mt-3 rounded-md border border-amber-300 bg-amber-50 p-2 text-sm text-amber-900 dark:border-amber-700 dark:bg-amber-950/40 dark:text-amber-100" role="alert">
          {outcome.kind === "timeout"
            ? `Stopped after ${outcome.limitMs / 1000} s: your code was still running (an endless loop?). The runner was restarted; fix the code and run again.`
            : `The runner stopped unexpectedly (${outcome.error}). It was restarted; run again.`}
        </p>
      ) : null}
      {report ? <Results report={report} /> : null}
    </section>
  );
}

function Results({ report }: { report: NonNullable<Extract<RunOutcome, { kind: "report" }>["report"]> }) {
  const { setup, tests } = report;
  return (
    <div className="exercise-results mt-3 space-y-2 text-sm">
      {!setup.ok ? (
        <p className="rounded-md border border-red-300 bg-red-50 p-2 text-red-900 dark:border-red-800 dark:bg-red-950/40 dark:text-red-100">Your code raised an error: {setup.error}</p>
      ) : null}
      {setup.stdout || setup.stderr ? <Output stdout={setup.stdout} stderr={setup.stderr} /> : null}
      <ul className="m-0 list-none space-y-1 p-0">
        {tests.map((t, i) => (
          <li
            key={i}
            className={`exercise-test rounded-md border p-2 ${t.passed ? "test-pass border-emerald-300 bg-emerald-50 dark:border-emerald-800 dark:bg-emerald-950/30" : "test-fail border-red-300 bg-red-50 dark:border-red-800 dark:bg-red-950/30"}`}
          >
            <div className="flex items-baseline gap-2">
              <span aria-hidden="true" className={t.passed ? "text-emerald-700 dark:text-emerald-400" : "text-red-700 dark:text-red-400"}>
                {t.passed ? "✓" : "✗"}
              </span>
              <span className="sr-only">{t.passed ? "Passed:" : "Failed:"}</span>
              <code className="min-w-0 flex-1 text-xs [overflow-wrap:anywhere]">{t.name}</code>
              <span className="shrink-0 text-xs text-slate-500 dark:text-slate-400">
                line {t.line} · {ms(t.ms)}
              </span>
            </div>
            {!t.passed && t.message ? <p className="mt-1 mb-0 text-red-800 dark:text-red-200">{t.message}</p> : null}
            {t.stdout || t.stderr ? <Output stdout={t.stdout} stderr={t.stderr} /> : null}
          </li>
        ))}
      </ul>
    </div>
  );
}

function Output({ stdout, stderr }: { stdout: string; stderr: string }) {
  return (
    <div className="mt-1 space-y-1">
      {stdout ? (
        <pre className="m-0 max-h-40 overflow-auto rounded bg-slate-100 p-1.5 text-xs dark:bg-slate-900">
          <span className="text-slate-500">stdout: </span>
          {stdout}
        </pre>
      ) : null}
      {stderr ? (
        <pre className="m-0 max-h-40 overflow-auto rounded bg-slate-100 p-1.5 text-xs text-red-800 dark:bg-slate-900 dark:text-red-300">
          <span className="text-slate-500">stderr: </span>
          {stderr}
        </pre>
      ) : null}
    </div>
  );
}
