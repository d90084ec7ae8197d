// Shown under a question that has no answer: lost with the server writing it
// (an instance that died never stores half an answer, so after a reconnect
// the question simply has none), or found so long after it was asked. Says
// so, and asks it again in one click.
import { useApp } from "../state/context.js";

const WHY = {
  lost: "This question got no answer: the server answering it stopped before the answer was saved. You can ask it again.",
  none: "This question has no answer: it was stopped, or the server answering it stopped, before any of the answer was saved. You can ask it again.",
} as const;

export function LostAnswer({ question, why, ready }: { question: string; why: keyof typeof WHY; ready: boolean }) {
  const app = useApp();
  return (
    <li className="flex gap-3" data-testid="lost-answer">
      <span aria-hidden="true" className="mt-0.5 flex h-7 w-7 shrink-0 items-center justify-center rounded-full bg-amber-100 text-xs font-bold text-amber-800 dark:bg-amber-900/50 dark:text-amber-200">
        !
      </span>
      <div role="status" className="min-w-0 flex-1 rounded-lg border border-amber-300 bg-amber-50 px-3 py-2 text-sm text-amber-900 dark:border-amber-700 dark:bg-amber-950/40 dark:text-amber-100">
        <p>{WHY[why]}</p>
        <button
          type="button"
          disabled={!ready}
          onClick={() => {
            const err = app.ask(question);
            if (err) app.notify("error", err);
          }}
          className="mt-2 rounded-full border border-amber-400 px-3 py-1 text-xs font-medium hover:bg-amber-100 disabled:opacity-50 dark:border-amber-600 dark:hover:bg-amber-900/60"
        >
          Ask again
        </button>
      </div>
    </li>
  );
}
