// An exercise_submission checked against the answer it names, and written
// as the readable Markdown user message that is stored and sent to the
// model. Pure: the session fetches the messages and passes them in.
import type { ClientMessageOf, ExerciseResults, Message } from "@tutor/protocol";
import type { ConversationService } from "../conversations.js";
import { NotFoundError, TutorError } from "../errors.js";
import { exercises, type Exercise } from "./markup.js";
import { exerciseKey } from "./state.js";

export type Submission = Pick<ClientMessageOf<"exercise_submission">, "message_id" | "exercise_index" | "language" | "code" | "results">;

const LANGUAGE_NAMES = { python: "Python", javascript: "JavaScript" } as const;

/**
 * The exercise a submission is for. `answer` is the message looked up in
 * the student's own conversation (undefined: not there or not theirs →
 * not_found, like any forged id). An answer without that exercise, or of
 * another language, is invalid_message.
 */
export function checkSubmission(answer: Message | undefined, sub: Submission): Exercise {
  if (!answer) throw new NotFoundError("answer");
  if (answer.type !== "ai") throw new TutorError("invalid_message", "message_id must name one of the tutor's answers");
  const found = exercises(answer.content);
  const exercise = found[sub.exercise_index];
  if (!exercise) {
    const has = found.length === 0 ? "holds no exercise" : `holds ${found.length} exercise${found.length === 1 ? "" : "s"} (index 0..${found.length - 1})`;
    throw new TutorError("invalid_message", `exercise_index ${sub.exercise_index}: that answer ${has}`);
  }
  if (exercise.language !== sub.language) {
    throw new TutorError("invalid_message", `language: exercise ${sub.exercise_index} is ${exercise.language}, not ${sub.language}`);
  }
  if (sub.results.passed + sub.results.failed > sub.results.total) {
    throw new TutorError("invalid_message", "results: passed + failed must not exceed total");
  }
  return exercise;
}

/** Every test ran and passed (and there was at least one). */
export function allPassed(results: ExerciseResults): boolean {
  return results.total > 0 && results.failed === 0 && results.passed === results.total;
}

/** A fence for `text` that no run of backticks inside it can close. */
function fence(text: string, info: string): string {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const ticks = "`".repeat(longest + 1);
  return `${ticks}${info}\n${text.replace(/\n+$/, "")}\n${ticks}`;
}

export const SUBMISSION_HEADING_RE = /^\*\*Exercise (\d+)\b/;

/**
 * The stored user message: what ran, how it went, the code and the output.
 * `attempt` is the how-manieth submission of this exercise this is.
 */
export function submissionText(sub: Submission, attempt: number): string {
  const { passed, failed, total, output } = sub.results;
  const n = sub.exercise_index + 1;
  const verdict =
    allPassed(sub.results)
      ? `all ${total} test${total === 1 ? "" : "s"} passed`
      : `${passed} of ${total} test${total === 1 ? "" : "s"} passed, ${failed} failed${passed + failed < total ? `, ${total - passed - failed} did not run` : ""}`;
  const parts = [
    `**Exercise ${n} (${LANGUAGE_NAMES[sub.language]}), attempt ${attempt}: ${verdict}.**`,
    allPassed(sub.results) ? "Here is my solution. Please check it." : "Here is my code and the test output. Please give me a hint.",
    `My code:\n\n${fence(sub.code, sub.language)}`,
  ];
  if (output.trim()) parts.push(`Test output:\n\n${fence(output, "text")}`);
  return parts.join("\n\n");
}

/**
 * How many times this exercise was submitted before, from the recent
 * messages (oldest first): the student's submissions of exercise N after the
 * answer that holds it, up to the next answer that poses new exercises.
 */
export function previousAttempts(recent: readonly Message[], answerId: string, exerciseIndex: number): number {
  const from = recent.findIndex((m) => m.id === answerId);
  if (from === -1) return 0;
  let count = 0;
  for (const m of recent.slice(from + 1)) {
    if (m.type === "ai" && exercises(m.content).length) break;
    const h = m.type === "user" ? SUBMISSION_HEADING_RE.exec(m.content) : null;
    if (h && Number(h[1]) === exerciseIndex + 1) count++;
  }
  return count;
}

/** How far back previous attempts are looked for: the turn's history window. */
const ATTEMPT_WINDOW = 15;

/**
 * A submission checked against the student's own answer and turned into
 * the question of a turn: its text, and the exercise key when every test
 * passed (counted in the course once the question is stored).
 */
export async function prepareSubmission(
  conversations: ConversationService,
  userId: string,
  sub: Submission & { conversation_id: string },
): Promise<{ text: string; exercisePassed: string | undefined }> {
  const answer = await conversations.message(userId, sub.conversation_id, sub.message_id);
  checkSubmission(answer, sub);
  const recent = await conversations.recent(userId, sub.conversation_id, ATTEMPT_WINDOW);
  const attempt = previousAttempts(recent, sub.message_id, sub.exercise_index) + 1;
  return {
    text: submissionText(sub, attempt),
    exercisePassed: allPassed(sub.results) ? exerciseKey(sub.message_id, sub.exercise_index) : undefined,
  };
}
