// What the student sees of the server's limits: the wait after a refusal,
// counted down live (it disappears by itself when the time is up), and a quiet
// line when the hour's questions or the day's budget are nearly used up.
import { useEffect, useState } from "react";
import type { State } from "../state/reducer.js";
import { useAppState } from "../state/context.js";
import { budgetLine, clockText, limitAgain, limitReason, limitsQuestions, type RateLimit } from "../state/limits.js";

const selectRateLimit = (s: State) => s.rateLimit;
const selectBudget = (s: State) => s.budget;
const selectLimits = (s: State) => s.config?.limits;
const timeFmt = new Intl.DateTimeFormat(undefined, { hour: "numeric", minute: "2-digit" });

/** Date.now(), rendering again every `everyMs` while `active`. */
export function useNow(active: boolean, everyMs = 1000): number {
  const [, setTick] = useState(0);
  useEffect(() => {
    if (!active) return;
    const t = setInterval(() => setTick((n) => n + 1), everyMs);
    return () => clearInterval(t);
  }, [active, everyMs]);
  // Read at render: a wait that just started is never shown from an old tick.
  return Date.now();
}

/** The refusal whose wait is not over yet (ticks every second while there is one). */
export function useRateLimit(): { limit: RateLimit; leftMs: number; questions: boolean } | null {
  const limit = useAppState(selectRateLimit);
  const now = useNow(limit !== null);
  if (!limit || limit.until <= now) return null;
  return { limit, leftMs: limit.until - now, questions: limitsQuestions(limit.limit) };
}

/**
 * "You can ask again in 4:12". The ticking digits are hidden from screen
 * readers (a live region would read every second); they hear the clock time.
 */
export function WaitText({ prefix, until, leftMs }: { prefix: string; until: number; leftMs: number }) {
  return (
    <>
      <span aria-hidden="true">
        {prefix} in <span className="font-semibold tabular-nums">{clockText(leftMs)}</span>.
      </span>
      <span className="sr-only">
        {prefix} at {timeFmt.format(new Date(until))}.
      </span>
    </>
  );
}

/** Above the composer while a limit's wait runs. */
export function LimitNotice() {
  const limited = useRateLimit();
  if (!limited) return null;
  const { limit, leftMs } = limited;
  return (
    <div
      role="status"
      data-testid="limit-notice"
      className="mb-2 rounded-lg border border-amber-300 bg-amber-50 px-3 py-2 text-sm text-amber-950 dark:border-amber-700 dark:bg-amber-950/60 dark:text-amber-100"
    >
      {limitReason(limit.limit)} <WaitText prefix={limitAgain(limit.limit)} until={limit.until} leftMs={leftMs} />
    </div>
  );
}

/** Near the end of the hour's questions or the day's tokens: one quiet line, else nothing. */
export function BudgetLine() {
  const budget = useAppState(selectBudget);
  const limits = useAppState(selectLimits);
  const limited = useRateLimit();
  const now = useNow(budget !== null, 15_000);
  const text = budgetLine(budget, limits, now);
  // While a refusal's countdown is shown, the line would only repeat it.
  if (!text || limited?.questions) return null;
  return (
    <p data-testid="budget-line" className="text-slate-600 dark:text-slate-300">
      {text}
    </p>
  );
}
