// Where an answer's exercises become cards. Eager and tiny: the card, the
// editor and the runners are lazy chunks fetched with the first exercise.
import { Suspense, createContext, lazy, useContext } from "react";
import type { Exercise } from "@tutor/core/course";
import type { ExerciseResults } from "@tutor/protocol";

const ExerciseCard = lazy(() => import("./ExerciseCard.js"));

/** Sends a card's code and results for exercise `exercise` of answer `messageId`; an error to show, or null. */
export type SubmitExercise = (messageId: string, exercise: Exercise, code: string, results: ExerciseResults) => string | null;

export const ExerciseContext = createContext<SubmitExercise | null>(null);

export function ExerciseSlot({ exercise, messageId, fallback }: { exercise: Exercise; messageId: string; fallback: React.ReactNode }) {
  const submit = useContext(ExerciseContext);
  return (
    <Suspense fallback={fallback}>
      <ExerciseCard exercise={exercise} messageId={messageId} onSend={submit ? (code, results) => submit(messageId, exercise, code, results) : null} />
    </Suspense>
  );
}
