import { TEACHING_MODES } from "@tutor/protocol";
import { describe, expect, it } from "vitest";
import { exercises } from "./course/markup.js";
import { EXPLAIN_CLOSE, EXPLAIN_OPEN, TITLE_MAX_WORDS, TITLE_PROMPT, systemPrompt, titleRequest } from "./prompts.js";

describe("systemPrompt", () => {
  it("gives each teaching mode its own prompt", () => {
    const prompts = TEACHING_MODES.map((m) => systemPrompt(m));
    expect(new Set(prompts).size).toBe(TEACHING_MODES.length);
  });

  it("falls back to the teacher prompt for an unknown or missing mode", () => {
    const teacher = systemPrompt("teacher");
    expect(systemPrompt(undefined)).toBe(teacher);
    expect(systemPrompt("")).toBe(teacher);
    expect(systemPrompt("QA")).toBe(teacher); // modes are exact protocol values
    expect(systemPrompt("socratic")).toBe(teacher);
  });

  it("asks only the teacher to mark key terms with EXPLAIN tags, and says how often", () => {
    const teacher = systemPrompt("teacher");
    const qa = systemPrompt("qa");
    expect(teacher).toContain(`${EXPLAIN_OPEN}term${EXPLAIN_CLOSE}`);
    expect(teacher).toMatch(/first time/);
    expect(teacher).toMatch(/at most 5 terms per reply/);
    expect(qa).not.toContain(EXPLAIN_OPEN);
  });

  it("makes the teacher outline a course, teach one chapter at a time with an exercise, and wait", () => {
    const teacher = systemPrompt("teacher");
    expect(teacher).toMatch(/outline/i);
    expect(teacher).toMatch(/one chapter per reply/i);
    expect(teacher).toMatch(/worked example/i);
    expect(teacher).toMatch(/exercise/i);
    expect(teacher).toMatch(/wait/i);
  });

  it("makes Q&A answer directly with runnable, language-tagged code blocks", () => {
    const qa = systemPrompt("qa");
    expect(qa).toMatch(/directly/i);
    expect(qa).toMatch(/runnable/i);
    expect(qa).toMatch(/language tag/i);
  });

  it("asks the teacher for the course markup: outline block, chapter headings, exercise + tests pairs", () => {
    const teacher = systemPrompt("teacher");
    expect(teacher).toMatch(/info string `outline`/);
    expect(teacher).toContain("`N. Title — goal`");
    expect(teacher).toContain("`## Chapter N: Title`");
    expect(teacher).toContain("`LANG exercise`");
    expect(teacher).toContain("`LANG tests`");
    expect(teacher).toMatch(/`python` by default/);
    expect(teacher).toMatch(/`javascript` when the student is learning JavaScript/);
    expect(teacher).toMatch(/standard library only/i);
    // The prompt's own example is an exercise the parser (and so the page) understands.
    const [example] = exercises(teacher);
    expect(example).toMatchObject({ language: "python" });
    expect(example!.tests.split("\n").every((l) => /^assert .+, ".+"$/.test(l))).toBe(true);
  });

  it("makes the teacher hint before it solves when test results come in", () => {
    const teacher = systemPrompt("teacher");
    expect(teacher).toMatch(/praise what passes/);
    expect(teacher).toMatch(/failing test and the line/);
    expect(teacher).toMatch(/full solution only from the second failed attempt on .* or when the student asks/);
  });

  it("leaves Q&A without course markup", () => {
    const qa = systemPrompt("qa");
    expect(qa).not.toMatch(/```outline|LANG exercise|## Chapter/);
    expect(exercises(qa)).toEqual([]);
  });

  it("keeps both modes on computing topics, honest, safe and in Markdown", () => {
    for (const mode of TEACHING_MODES) {
      const p = systemPrompt(mode);
      expect(p).toMatch(/only cover computing topics/);
      expect(p).toMatch(/If you are not sure, say so/);
      expect(p).toMatch(/malware/);
      expect(p).toMatch(/Markdown/);
    }
  });
});

describe("titleRequest", () => {
  it("asks the fast model for a short title of the question", () => {
    const req = titleRequest("How does binary search work on a sorted array?");
    expect(req.messages[0]).toEqual({ role: "system", content: TITLE_PROMPT });
    expect(req.messages[1]).toEqual({ role: "user", content: "How does binary search work on a sorted array?" });
    expect(TITLE_PROMPT).toContain(`at most ${TITLE_MAX_WORDS} words`);
    expect(req.maxTokens).toBeLessThanOrEqual(24);
  });

  it("sends only the opening of a very long question", () => {
    const req = titleRequest("x".repeat(50_000));
    expect(req.messages[1]!.content.length).toBeLessThanOrEqual(1_001);
  });
});
