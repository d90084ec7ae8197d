// The server's limits as the student meets them (PROTOCOL.md "Access and
// limits"): a refusal (`error` `rate_limited` with `retry_after_s`) becomes a
// notice with a live countdown and pauses sending until then; the budget an
// `ai_response` carries is kept, so a quiet line can say when the hour's
// questions or the day's tokens are nearly used up. The server decides; this
// only remembers what it said and when.
import type { Budget, LimitName, PublicConfig, ServerMessage } from "@tutor/protocol";
import type { AppHub } from "./hub.js";

/** A limit refused: which one (null: the server did not say) and until when (epoch ms). */
export interface RateLimit {
  limit: LimitName | null;
  until: number;
}

/** The budget of the latest answer and when it arrived (its `*_reset_s` count from then). */
export interface BudgetSeen {
  budget: Budget;
  at: number;
}

/** Limits that refuse questions; the voice ones refuse only the microphone. */
const TURN_LIMITS: ReadonlySet<LimitName | null> = new Set<LimitName | null>(["turns_per_hour", "tokens_per_day", "turns_running", null]);

export function limitsQuestions(limit: LimitName | null): boolean {
  return TURN_LIMITS.has(limit);
}

/** Why the server refused, in the student's words (the wait follows it). */
export function limitReason(limit: LimitName | null): string {
  switch (limit) {
    case "turns_per_hour":
      return "You have asked as many questions as this hour allows.";
    case "tokens_per_day":
      return "You have used today's tutor budget.";
    case "turns_running":
      return "Two answers are still being written for you.";
    case "voice_rate":
      return "Your microphone sent audio faster than it can be spoken.";
    case "voice_queue":
      return "Several spoken questions are still waiting for an answer.";
    default:
      return "You are going a little fast.";
  }
}

/** What may happen again when the wait is over. */
export function limitAgain(limit: LimitName | null): string {
  return limit === "voice_rate" || limit === "voice_queue" ? "You can speak again" : "You can ask again";
}

/** "4:12", "0:05", "3:12:05": the countdown of a wait. */
export function clockText(ms: number): string {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const ss = String(s).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

/** "40 s", "59 min", "5 h 12 min": a coarse wait for the budget line. */
export function roughWait(ms: number): string {
  const s = Math.max(1, Math.ceil(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.ceil(s / 60);
  if (m <= 60) return `${m} min`;
  const h = Math.floor(m / 60);
  return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
}

/**
 * The quiet line about the budget, or null when there is nothing worth
 * saying: only near the end of the hour's questions (a handful left, at most
 * a tenth of the limit) or of the day's tokens (a tenth left), and only until
 * that window renews.
 */
export function budgetLine(seen: BudgetSeen | null, limits: PublicConfig["limits"] | undefined, now: number): string | null {
  if (!seen) return null;
  const { budget, at } = seen;
  const parts: string[] = [];
  if (budget.turns_left !== null && budget.turns_reset_s !== null) {
    const renews = at + budget.turns_reset_s * 1000 - now;
    const total = limits?.turns_per_hour;
    const near = Math.max(1, Math.min(5, total ? Math.ceil(total / 10) : 5));
    if (renews > 0 && budget.turns_left <= near) {
      const left = budget.turns_left === 0 ? "No questions" : budget.turns_left === 1 ? "1 question" : `${budget.turns_left} questions`;
      parts.push(`${left} left this hour (more in ${roughWait(renews)})`);
    }
  }
  if (budget.tokens_left !== null && budget.tokens_reset_s !== null) {
    const renews = at + budget.tokens_reset_s * 1000 - now;
    const total = limits?.tokens_per_day;
    if (renews > 0 && total && budget.tokens_left <= total / 10) {
      const pct = Math.floor((budget.tokens_left / total) * 100);
      parts.push(`${pct < 1 ? "Less than 1%" : `${pct}%`} of today's tutor budget left (renews in ${roughWait(renews)})`);
    }
  }
  return parts.length ? parts.join(" · ") : null;
}

export class Limits {
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly hub: AppHub,
    private readonly now: () => number = Date.now,
  ) {}

  /** Every server message passes here first; it only remembers, it never consumes. */
  observe(msg: ServerMessage): void {
    if (msg.type === "error" && msg.code === "rate_limited" && msg.retry_after_s !== undefined) {
      this.refused(msg.limit ?? null, msg.retry_after_s);
    } else if (msg.type === "ai_response" && msg.budget) {
      this.hub.dispatch({ type: "budget", budget: { budget: msg.budget, at: this.now() } });
    }
  }

  /** The server refused for `seconds`: show it until then, then recover by itself. */
  refused(limit: LimitName | null, seconds: number): void {
    const until = this.now() + Math.max(1, seconds) * 1000;
    const shown = this.hub.state().rateLimit;
    // A shorter wait (e.g. a running answer) does not hide a longer one already shown.
    if (shown && shown.until > until && limitsQuestions(shown.limit)) return;
    this.hub.dispatch({ type: "limit", rateLimit: { limit, until } });
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      if (this.hub.state().rateLimit?.until === until) this.hub.dispatch({ type: "limit", rateLimit: null });
    }, until - this.now());
  }

  /** Why a question cannot be sent now (a limit's wait is not over), or null. */
  blocked(): string | null {
    const r = this.hub.state().rateLimit;
    if (!r || r.until <= this.now() || !limitsQuestions(r.limit)) return null;
    return `${limitReason(r.limit)} ${limitAgain(r.limit)} in ${clockText(r.until - this.now())}.`;
  }

  stop(): void {
    clearTimeout(this.timer);
  }
}
