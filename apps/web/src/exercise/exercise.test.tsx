import { render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { Answer } from "../components/MessageItem.js";
import { splitTests } from "./js-tests.js";
import { toResults } from "./runner.js";
import { cap, OUTPUT_CAP_CHARS } from "./protocol.js";

const T = "```";
const PAIR = `Try it:\n\n${T}python exercise\ndef f():\n    pass\n${T}\n${T}python tests\nassert f() == 1, "f() should return 1"\n${T}\n\nGood luck.`;

describe("answers with exercises", () => {
  it("renders an exercise pair as a card with the starter code, Run tests and a disabled Send", async () => {
    render(<Answer text={PAIR} messageId="m1" />);
    const card = await screen.findByRole("region", { name: "Exercise 1 (Python)" });
    expect(card).toHaveTextContent("Run tests");
    expect(screen.getByRole("button", { name: "Send to tutor" })).toBeDisabled();
    expect(screen.getByText("Good luck.")).toBeInTheDocument();
  });

  it("renders a broken or unclosed exercise block as plain code", () => {
    const broken = `${T}python exercise\nx = 1\n${T}\nsome text\n${T}python tests\nassert x == 1\n`;
    const { container } = render(<Answer text={broken} messageId="m2" />);
    expect(container.querySelector(".exercise-card")).toBeNull();
    expect(container.querySelectorAll("pre").length).toBeGreaterThan(0);
    expect(container).toHaveTextContent("x = 1");
  });

  it("shows a streaming answer's exercise as code until the answer is complete", () => {
    const { container } = render(<Answer text={PAIR} messageId="m3" streaming />);
    expect(container.querySelector(".exercise-card")).toBeNull();
  });
});

describe("runner results", () => {
  it("splits JavaScript tests into top-level assertions, continuing indented lines", () => {
    expect(splitTests('assert(f() === 1, "one")\n\nassert(\n  g() === 2,\n  "two"\n)\n// note\nassert(h())')).toEqual([
      { src: 'assert(f() === 1, "one")', line: 1 },
      { src: 'assert(\n  g() === 2,\n  "two"\n)\n// note', line: 3 },
      { src: "assert(h())", line: 8 },
    ]);
  });

  it("turns a report into counts and readable output within the protocol's cap", () => {
    const test = (passed: boolean, line: number) => ({ name: `assert t${line}`, line, passed, message: passed ? "" : `t${line} failed`, stdout: "", stderr: "", ms: 1 });
    const r = toResults({ kind: "report", report: { setup: { ok: true, error: "", stdout: "hi", stderr: "", ms: 1 }, tests: [test(true, 1), test(false, 2)], ms: 2 } });
    expect(r).toMatchObject({ passed: 1, failed: 1, total: 2 });
    expect(r.output).toContain("FAIL test line 2: assert t2\n  t2 failed");
    expect(r.output).toContain("stdout:\nhi");
    const huge = toResults({ kind: "report", report: { setup: { ok: true, error: "", stdout: "x".repeat(10_000), stderr: "", ms: 1 }, tests: [], ms: 1 } });
    expect(huge.output.length).toBeLessThanOrEqual(4_000);
    expect(toResults({ kind: "timeout", limitMs: 5000 })).toMatchObject({ passed: 0, total: 0, output: expect.stringMatching(/longer than 5 s/) });
    expect(cap("y".repeat(OUTPUT_CAP_CHARS + 5))).toMatch(/5 more characters cut/);
  });
});
