// The course of a teacher conversation under its title: every chapter as
// done / current / todo, and the exercises passed. Clicking a chapter asks
// the tutor to teach it.
import type { Course } from "@tutor/protocol";

const STATUS_LABEL = { done: "done", current: "current chapter", todo: "to do" } as const;

export function courseBadge(course: Course | undefined): string | null {
  if (!course || course.chapters.length === 0) return null;
  return `Ch ${course.current === null ? 0 : course.current + 1}/${course.chapters.length}`;
}

export function CourseBar({ course, onChapter, disabled }: { course: Course; onChapter: (index: number, title: string) => void; disabled: boolean }) {
  return (
    <nav aria-label="Course" className="course-bar flex items-center gap-2 overflow-x-auto border-b border-slate-200 px-4 py-1.5 text-xs dark:border-slate-800">
      <ol className="m-0 flex list-none gap-1 p-0">
        {course.chapters.map((c, i) => (
          <li key={i}>
            <button
              type="button"
              disabled={disabled}
              onClick={() => onChapter(i, c.title)}
              aria-current={c.status === "current" ? "step" : undefined}
              title={`Chapter ${i + 1}: ${c.title} (${STATUS_LABEL[c.status]}) — ask the tutor for it`}
              className={`course-chapter chapter-${c.status} rounded-full border px-2 py-0.5 whitespace-nowrap disabled:cursor-not-allowed ${
                c.status === "done"
                  ? "border-emerald-300 bg-emerald-50 text-emerald-800 dark:border-emerald-800 dark:bg-emerald-950/40 dark:text-emerald-200"
                  : c.status === "current"
                    ? "border-indigo-400 bg-indigo-100 font-semibold text-indigo-900 dark:border-indigo-500 dark:bg-indigo-900/60 dark:text-indigo-100"
                    : "border-slate-300 text-slate-600 hover:bg-slate-100 dark:border-slate-700 dark:text-slate-300 dark:hover:bg-slate-800"
              }`}
            >
              <span aria-hidden="true">{c.status === "done" ? "✓ " : ""}</span>
              {i + 1}. {c.title}
              <span className="sr-only"> ({STATUS_LABEL[c.status]})</span>
            </button>
          </li>
        ))}
      </ol>
      <span className="course-exercises ml-auto shrink-0 text-slate-600 dark:text-slate-300">
        Exercises passed: {course.exercises_passed}/{course.exercises_total}
      </span>
    </nav>
  );
}
