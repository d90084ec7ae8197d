import { describe, expect, it } from "vitest";
import { chapterIndex, exercises, fences, lastChapterHeading, lastOutline, parseOutlineBody, segments } from "./markup.js";

const T = "```";

describe("fences", () => {
  it("finds backtick and tilde blocks, closed or running to the end", () => {
    const src = `a\n${T}python\nx = 1\n${T}\n~~~js\ny\n~~~\n   ${T}text\n   indented\n${T}\n${T}python\nunclosed`;
    const fs = fences(src);
    expect(fs.map((f) => [f.info, f.body, f.closed])).toEqual([
      ["python", "x = 1", true],
      ["js", "y", true],
      ["text", "indented", true],
      ["python", "unclosed", false],
    ]);
  });

  it("needs a closing fence at least as long as the opening one", () => {
    const fs = fences("````md\n```\ninner\n```\n````\n");
    expect(fs).toHaveLength(1);
    expect(fs[0]!.body).toBe("```\ninner\n```");
  });
});

describe("outline", () => {
  it("reads `N. Title — goal` lines", () => {
    const o = lastOutline(`Here is a plan:\n\n${T}outline\n1. Variables — store and name values\n2. Loops — repeat work\n3. Functions — reuse code\n${T}\nShall we start?`);
    expect(o).toEqual([
      { n: 1, title: "Variables", goal: "store and name values" },
      { n: 2, title: "Loops", goal: "repeat work" },
      { n: 3, title: "Functions", goal: "reuse code" },
    ]);
  });

  it("copes with missing dashes, other separators, emphasis and extra text inside the block", () => {
    const body = [
      "Course: Python basics",
      "",
      "1) **Variables**: store values",
      "2. Loops - repeat work",
      "3 Functions",
      "Chapter 4: Recursion (functions that call themselves)",
      "5.Testing–check your code",
      "We can adjust this later.",
    ].join("\n");
    expect(parseOutlineBody(body).map((c) => [c.n, c.title, c.goal])).toEqual([
      [1, "Variables", "store values"],
      [2, "Loops", "repeat work"],
      [3, "Functions", null],
      [4, "Recursion", "functions that call themselves"],
      [5, "Testing", "check your code"],
    ]);
  });

  it("takes bullets, or plain lines, when nothing is numbered", () => {
    expect(parseOutlineBody("- Sets — what they are\n- Maps").map((c) => c.title)).toEqual(["Sets", "Maps"]);
    expect(parseOutlineBody("The plan:\nStacks — push and pop\nQueues").map((c) => c.title)).toEqual(["Stacks", "Queues"]);
  });

  it("keeps the given numbers when the tutor renumbers or skips", () => {
    expect(parseOutlineBody("0. Setup\n1. Basics\n1. More basics\n7. Wrap-up").map((c) => c.n)).toEqual([0, 1, 1, 7]);
  });

  it("lets a second outline in the same answer replace the first", () => {
    const src = `${T}outline\n1. A\n2. B\n${T}\nActually, better:\n${T}outline\n1. C — c\n2. D\n3. E\n${T}`;
    expect(lastOutline(src)?.map((c) => c.title)).toEqual(["C", "D", "E"]);
  });

  it("reads an unclosed outline up to the prose after it", () => {
    const src = `${T}outline\n1. Arrays — indexing\n2. Lists\n\nWhat do you think? Should we start with arrays?`;
    expect(lastOutline(src)?.map((c) => c.title)).toEqual(["Arrays", "Lists"]);
  });

  it("ignores answers without an outline block and empty blocks", () => {
    expect(lastOutline("1. Not an outline\n2. Just a list")).toBeNull();
    expect(lastOutline(`${T}outline\n\n${T}`)).toBeNull();
  });
});

describe("chapter headings", () => {
  it("reads the last `## Chapter N: Title` outside code", () => {
    expect(lastChapterHeading("intro\n## Chapter 2: Loops\ntext")).toEqual({ n: 2, title: "Loops" });
    expect(lastChapterHeading("### **Chapter 3 — Functions**")).toEqual({ n: 3, title: "Functions" });
    expect(lastChapterHeading(`${T}md\n## Chapter 9: In code\n${T}\n## Chapter 1: Start`)).toEqual({ n: 1, title: "Start" });
    expect(lastChapterHeading(`${T}md\n## Chapter 9: In code\n${T}`)).toBeNull();
    expect(lastChapterHeading("Chapter 2: not a heading")).toBeNull();
  });

  it("maps a heading to the outline by title first, then by number, then by position", () => {
    const outline = [
      { n: 1, title: "Variables" },
      { n: 2, title: "Loops" },
      { n: 5, title: "Functions" },
    ];
    expect(chapterIndex(outline, { n: 7, title: "Loops" })).toBe(1); // renumbered: the title wins
    expect(chapterIndex(outline, { n: 3, title: "Functions and scope" })).toBe(2); // partial title
    expect(chapterIndex(outline, { n: 5, title: "" })).toBe(2); // the outline's own number
    expect(chapterIndex(outline, { n: 2, title: "Something else" })).toBe(1); // position
    expect(chapterIndex(outline, { n: 9, title: "Unknown" })).toBe(-1);
  });
});

describe("exercises", () => {
  const pair = (lang: string, starter: string, tests: string) => `${T}${lang} exercise\n${starter}\n${T}\n\n${T}${lang} tests\n${tests}\n${T}`;

  it("pairs an exercise block with the tests block right after it", () => {
    const src = `Try this:\n\n${pair("python", "def add(a, b):\n    pass", "assert add(1, 2) == 3, 'add(1, 2) should be 3'")}\n\nGood luck!`;
    const [ex, ...rest] = exercises(src);
    expect(rest).toHaveLength(0);
    expect(ex).toMatchObject({ index: 0, language: "python", starter: "def add(a, b):\n    pass", tests: "assert add(1, 2) == 3, 'add(1, 2) should be 3'" });
    expect(src.slice(ex!.start, ex!.end)).toMatch(/^```python exercise[\s\S]*```$/);
  });

  it("numbers several exercises of one answer, and accepts js/py aliases", () => {
    const src = `${pair("py", "x = 0", "assert x == 1")}\ntext\n${pair("js", "let y;", "assert(y === 2)")}`;
    expect(exercises(src).map((e) => [e.index, e.language])).toEqual([
      [0, "python"],
      [1, "javascript"],
    ]);
  });

  it("leaves broken pairs as ordinary code and does not count them", () => {
    const noTests = `${T}python exercise\nx = 1\n${T}\n`;
    const textBetween = `${T}python exercise\nx = 1\n${T}\nNow the tests:\n${T}python tests\nassert x\n${T}\n`;
    const mismatch = `${T}python exercise\nx = 1\n${T}\n${T}javascript tests\nassert(x)\n${T}\n`;
    const unknown = `${T}ruby exercise\nx = 1\n${T}\n${T}ruby tests\nx\n${T}\n`;
    const unclosedTests = `${T}python exercise\nx = 1\n${T}\n${T}python tests\nassert x == 1\n`;
    const emptyTests = `${T}python exercise\nx = 1\n${T}\n${T}python tests\n\n${T}\n`;
    for (const src of [noTests, textBetween, mismatch, unknown, unclosedTests, emptyTests]) expect(exercises(src)).toEqual([]);
    const later = `${noTests}\n${pair("python", "y = 2", "assert y == 2")}`;
    expect(exercises(later).map((e) => [e.index, e.starter])).toEqual([[0, "y = 2"]]);
  });

  it("cuts an answer into markdown and exercise segments that add back up to it", () => {
    const src = `Intro\n\n${pair("python", "a = 1", "assert a == 1")}\n\nOutro`;
    const segs = segments(src);
    expect(segs.map((s) => s.kind)).toEqual(["markdown", "exercise", "markdown"]);
    const rebuilt = segs.map((s) => (s.kind === "markdown" ? s.text : src.slice(s.exercise.start, s.exercise.end))).join("");
    expect(rebuilt).toBe(src);
    expect(segments("no exercises")).toEqual([{ kind: "markdown", text: "no exercises" }]);
  });
});
