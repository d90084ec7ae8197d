import type { Message } from "@tutor/protocol";
import { describe, expect, it } from "vitest";
import { TutorError } from "../errors.js";
import { allPassed, checkSubmission, previousAttempts, submissionText, type Submission } from "./submission.js";

const T = "```";
const answer = (content: string, id = "a1"): Message => ({ id, type: "ai", content, timestamp: "2026-12-02T00:00:00.000Z" });
const pair = `${T}python exercise\ndef f():\n    pass\n${T}\n${T}python tests\nassert f() == 1, "f() should return 1"\n${T}`;
const sub = (over: Partial<Submission> = {}): Submission => ({
  message_id: "a1",
  exercise_index: 0,
  language: "python",
  code: "def f():\n    return 1",
  results: { passed: 1, failed: 0, total: 1, output: "" },
  ...over,
});

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return err instanceof TutorError ? err.code : "other";
  }
  return "ok";
}

describe("checkSubmission", () => {
  it("accepts a submission for an exercise the answer holds", () => {
    expect(checkSubmission(answer(pair), sub()).tests).toContain("assert f() == 1");
  });

  it("answers not_found for an answer that is not there (or not the student's)", () => {
    expect(codeOf(() => checkSubmission(undefined, sub()))).toBe("not_found");
  });

  it("answers invalid_message for no exercise at that index, the wrong language or a user message", () => {
    expect(codeOf(() => checkSubmission(answer("no code here"), sub()))).toBe("invalid_message");
    expect(codeOf(() => checkSubmission(answer(pair), sub({ exercise_index: 1 })))).toBe("invalid_message");
    expect(codeOf(() => checkSubmission(answer(pair), sub({ language: "javascript" })))).toBe("invalid_message");
    expect(codeOf(() => checkSubmission({ ...answer(pair), type: "user" }, sub()))).toBe("invalid_message");
    expect(codeOf(() => checkSubmission(answer(pair), sub({ results: { passed: 2, failed: 1, total: 2, output: "" } })))).toBe("invalid_message");
  });

  it("does not count a broken block as an exercise", () => {
    const broken = `${T}python exercise\nx = 1\n${T}\n${T}python tests\nassert x == 1\n`;
    expect(codeOf(() => checkSubmission(answer(broken), sub()))).toBe("invalid_message");
  });
});

describe("submissionText", () => {
  it("writes readable Markdown with the verdict, the code and the output", () => {
    const text = submissionText(
      sub({ code: "def f():\n    return 2", results: { passed: 0, failed: 1, total: 1, output: "FAIL line 1: f() should return 1" } }),
      2,
    );
    expect(text).toMatch(/^\*\*Exercise 1 \(Python\), attempt 2: 0 of 1 test passed, 1 failed\.\*\*/);
    expect(text).toContain("```python\ndef f():\n    return 2\n```");
    expect(text).toContain("```text\nFAIL line 1: f() should return 1\n```");
    expect(text).toMatch(/hint/);
  });

  it("fences code that itself contains backticks so it cannot break out", () => {
    const text = submissionText(sub({ code: "s = '```'\nprint(s)" }), 1);
    expect(text).toContain("````python\ns = '```'\nprint(s)\n````");
    expect(text).toMatch(/all 1 test passed/);
  });

  it("knows a full pass", () => {
    expect(allPassed({ passed: 3, failed: 0, total: 3, output: "" })).toBe(true);
    expect(allPassed({ passed: 2, failed: 0, total: 3, output: "" })).toBe(false);
    expect(allPassed({ passed: 0, failed: 0, total: 0, output: "" })).toBe(false);
  });
});

describe("previousAttempts", () => {
  it("counts earlier submissions of the same exercise after its answer, up to the next exercises", () => {
    const u = (id: string, content: string): Message => ({ id, type: "user", content, timestamp: "t" });
    const msgs: Message[] = [
      answer(pair, "a1"),
      u("u1", submissionText(sub(), 1)),
      answer("Close! Check the return value.", "a2"),
      u("u2", submissionText(sub({ exercise_index: 0 }), 2)),
      u("u3", "**Exercise 2 (Python), attempt 1: …**"),
      answer(`## Chapter 2\n${pair}`, "a3"),
      u("u4", submissionText(sub(), 1)),
    ];
    expect(previousAttempts(msgs, "a1", 0)).toBe(2);
    expect(previousAttempts(msgs, "a1", 1)).toBe(1);
    expect(previousAttempts(msgs, "a3", 0)).toBe(1);
    expect(previousAttempts(msgs, "gone", 0)).toBe(0);
  });
});
