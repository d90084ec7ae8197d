// The course of one teacher conversation as a pure state machine: answers
// (outline, chapter heading, exercises) and fully passing submissions move
// it on. The store keeps it as JSON with the conversation; summaries show
// `toCourse(state)`.
import type { Course, ExportedCourse } from "@tutor/protocol";
import { chapterIndex, exercises, lastChapterHeading, lastOutline, type OutlineChapter } from "./markup.js";

/** What is stored (JSON). `v` lets a later shape be told apart. */
export interface CourseState {
  v: 1;
  chapters: OutlineChapter[];
  /** Index into chapters, or null before the first chapter. */
  current: number | null;
  /** Every exercise posed so far, as exerciseKey(message, index). */
  exercises: string[];
  /** Exercises whose tests all passed once (a subset of exercises). */
  passed: string[];
}

/** How an exercise is named in the state: the answer holding it and its index there. */
export function exerciseKey(messageId: string, index: number): string {
  return `${messageId}#${index}`;
}

export function emptyCourse(): CourseState {
  return { v: 1, chapters: [], current: null, exercises: [], passed: [] };
}

/**
 * The state after the tutor's answer `messageId` was stored. Returns the
 * same object when the answer changes nothing (no write needed).
 * - its last outline replaces the chapters (the latest outline is the
 *   course); the current chapter stays when it still exists;
 * - its last chapter heading makes that chapter current (earlier ones done);
 * - its exercises are added to the total.
 */
export function applyAnswer(state: CourseState | null, messageId: string, text: string): CourseState | null {
  const outline = lastOutline(text);
  const heading = lastChapterHeading(text);
  const found = exercises(text);
  if (!outline && !heading && found.length === 0) return state;
  let next: CourseState = state ? { ...state } : emptyCourse();
  let changed = false;
  if (outline) {
    const current = next.current !== null && next.current < outline.length ? next.current : null;
    next = { ...next, chapters: outline, current };
    changed = true;
  }
  if (heading && next.chapters.length) {
    const i = chapterIndex(next.chapters, heading);
    if (i !== -1 && i !== next.current) {
      next.current = i;
      changed = true;
    }
  }
  const keys = found.map((e) => exerciseKey(messageId, e.index)).filter((k) => !next.exercises.includes(k));
  if (keys.length) {
    next.exercises = [...next.exercises, ...keys];
    changed = true;
  }
  return changed ? next : state;
}

/** The state after every test of exercise `key` passed: counted once. */
export function applyPass(state: CourseState | null, key: string): CourseState | null {
  const next = state ? { ...state } : emptyCourse();
  if (next.passed.includes(key)) return state;
  if (!next.exercises.includes(key)) next.exercises = [...next.exercises, key];
  next.passed = [...next.passed, key];
  return next;
}

/** The protocol's `course`, or undefined while there is no outline (nothing to show yet). */
export function toCourse(state: CourseState | null | undefined): Course | undefined {
  if (!state || state.chapters.length === 0) return undefined;
  const current = state.current;
  return {
    chapters: state.chapters.map((c, i) => ({
      title: c.title,
      status: current === null ? "todo" : i < current ? "done" : i === current ? "current" : "todo",
    })),
    current,
    exercises_passed: state.passed.length,
    exercises_total: state.exercises.length,
  };
}

/** A stored JSON value back into a state; anything unreadable counts as no course. */
export function readCourseState(json: string | null | undefined): CourseState | null {
  if (!json) return null;
  try {
    const v = JSON.parse(json) as Partial<CourseState>;
    if (v?.v !== 1 || !Array.isArray(v.chapters) || !Array.isArray(v.exercises) || !Array.isArray(v.passed)) return null;
    return {
      v: 1,
      chapters: v.chapters,
      current: typeof v.current === "number" ? v.current : null,
      exercises: v.exercises,
      passed: v.passed,
    };
  } catch {
    return null;
  }
}

/** The state as an export document carries it (message ids as stored), or undefined when there is none. */
export function courseToExport(state: CourseState | null): ExportedCourse | undefined {
  if (!state) return undefined;
  const split = (key: string) => {
    const at = key.lastIndexOf("#");
    return { message_id: key.slice(0, at), index: Number(key.slice(at + 1)) };
  };
  const passed = new Set(state.passed);
  return {
    chapters: state.chapters.map((c) => ({ n: c.n, title: c.title, goal: c.goal })),
    current: state.current,
    exercises: [...new Set([...state.exercises, ...state.passed])].filter((k) => k.lastIndexOf("#") > 0).map((k) => ({ ...split(k), passed: passed.has(k) })),
  };
}

/**
 * An imported course as a state, its exercises renamed to the new ids of
 * their answers (`newIds`: document id -> stored id; an exercise whose
 * answer is not in the document keeps its name, so it still counts). A
 * current chapter past the outline becomes none.
 */
export function courseFromExport(course: ExportedCourse, newIds: ReadonlyMap<string, string>): CourseState {
  const key = (e: ExportedCourse["exercises"][number]) => exerciseKey(newIds.get(e.message_id) ?? e.message_id, e.index);
  const exercises = [...new Set(course.exercises.map(key))];
  const passed = [...new Set(course.exercises.filter((e) => e.passed).map(key))];
  return {
    v: 1,
    chapters: course.chapters.map((c) => ({ n: c.n, title: c.title, goal: c.goal })),
    current: course.current !== null && course.current < course.chapters.length ? course.current : null,
    exercises,
    passed,
  };
}
