import { describe, expect, it } from "vitest";
import { applyAnswer, applyPass, courseFromExport, courseToExport, exerciseKey, readCourseState, toCourse } from "./state.js";

const T = "```";
const outline = (...titles: string[]) => `${T}outline\n${titles.map((t, i) => `${i + 1}. ${t} — goal`).join("\n")}\n${T}`;
const exercise = `${T}python exercise\nx = 0\n${T}\n${T}python tests\nassert x == 1, "x should be 1"\n${T}`;

describe("course state", () => {
  it("has no course until an outline exists", () => {
    expect(applyAnswer(null, "m1", "Hello, what do you know already?")).toBeNull();
    expect(applyAnswer(null, "m1", "## Chapter 1: Intro")).toBeNull();
    expect(toCourse(null)).toBeUndefined();
  });

  it("walks an outline's chapters: todo, current, done", () => {
    let s = applyAnswer(null, "m1", outline("Variables", "Loops", "Functions"));
    expect(toCourse(s)).toEqual({
      chapters: [
        { title: "Variables", status: "todo" },
        { title: "Loops", status: "todo" },
        { title: "Functions", status: "todo" },
      ],
      current: null,
      exercises_passed: 0,
      exercises_total: 0,
    });
    s = applyAnswer(s, "m2", `## Chapter 1: Variables\n...\n${exercise}`);
    s = applyAnswer(s, "m3", "## Chapter 2: Loops\ntext");
    expect(toCourse(s)).toMatchObject({
      chapters: [
        { title: "Variables", status: "done" },
        { title: "Loops", status: "current" },
        { title: "Functions", status: "todo" },
      ],
      current: 1,
      exercises_total: 1,
    });
  });

  it("returns the same state when an answer changes nothing (no write)", () => {
    const s = applyAnswer(null, "m1", outline("A", "B"));
    expect(applyAnswer(s, "m2", "Just a side answer.")).toBe(s);
    const s2 = applyAnswer(s, "m3", "## Chapter 2: B");
    expect(applyAnswer(s2, "m4", "## Chapter 2: B again")).toBe(s2);
  });

  it("lets a later outline replace the course, keeping the current chapter when it still exists", () => {
    let s = applyAnswer(null, "m1", outline("A", "B", "C"));
    s = applyAnswer(s, "m2", "## Chapter 2: B");
    s = applyAnswer(s, "m3", outline("A", "B", "C2", "D"));
    expect(toCourse(s)?.chapters.map((c) => c.title)).toEqual(["A", "B", "C2", "D"]);
    expect(s?.current).toBe(1);
    s = applyAnswer(s, "m4", outline("Only one"));
    expect(s?.current).toBeNull();
  });

  it("counts a passed exercise once, however often it passes", () => {
    let s = applyAnswer(null, "m1", outline("A"));
    s = applyAnswer(s, "m2", `## Chapter 1: A\n${exercise}\n\n${exercise}`);
    expect(toCourse(s)).toMatchObject({ exercises_passed: 0, exercises_total: 2 });
    s = applyPass(s, exerciseKey("m2", 0));
    const again = applyPass(s, exerciseKey("m2", 0));
    expect(again).toBe(s);
    expect(toCourse(again)).toMatchObject({ exercises_passed: 1, exercises_total: 2 });
  });

  it("counts a pass of an exercise it had not seen (answers stored before courses existed)", () => {
    const s = applyPass(applyAnswer(null, "m1", outline("A")), exerciseKey("old", 0));
    expect(toCourse(s)).toMatchObject({ exercises_passed: 1, exercises_total: 1 });
  });

  it("round-trips through JSON and treats unreadable JSON as no course", () => {
    const s = applyAnswer(null, "m1", outline("A", "B"));
    expect(readCourseState(JSON.stringify(s))).toEqual(s);
    expect(readCourseState("{not json")).toBeNull();
    expect(readCourseState(JSON.stringify({ v: 99 }))).toBeNull();
    expect(readCourseState(null)).toBeNull();
  });
});

describe("course in an export document", () => {
  it("goes out with message ids and comes back under the new ones; a chapter past the outline is none", () => {
    const state = applyPass(applyAnswer(null, "m1", "```outline\n1. A — a\n```\n```python exercise\nx\n```\n```python tests\nassert x\n```"), exerciseKey("m1", 0))!;
    const out = courseToExport(state)!;
    expect(out).toEqual({ chapters: [{ n: 1, title: "A", goal: "a" }], current: null, exercises: [{ message_id: "m1", index: 0, passed: true }] });
    const back = courseFromExport({ ...out, current: 0, exercises: [...out.exercises, { message_id: "gone", index: 2, passed: false }] }, new Map([["m1", "n1"]]));
    expect(back).toEqual({ v: 1, chapters: state.chapters, current: 0, exercises: ["n1#0", "gone#2"], passed: ["n1#0"] });
    expect(toCourse(back)).toMatchObject({ exercises_passed: 1, exercises_total: 2, current: 0 });
    expect(courseFromExport({ ...out, current: 5 }, new Map()).current).toBeNull();
    expect(courseToExport(null)).toBeUndefined();
  });
});
