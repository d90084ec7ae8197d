import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { MessageMarkdown } from "./MessageMarkdown.js";
import { splitBlocks } from "./blocks.js";
import { tidyStreamingTail } from "./explain.js";

describe("message renderer: markdown", () => {
  it("renders headings, lists, tables and inline code", () => {
    const text = [
      "## Big-O basics",
      "",
      "Three things to know:",
      "",
      "1. constants drop",
      "2. the largest term wins",
      "",
      "- `O(1)` is constant",
      "- **O(n)** is linear",
      "",
      "| operation | array | linked list |",
      "| --- | --- | --- |",
      "| index | O(1) | O(n) |",
    ].join("\n");
    const { container } = render(<MessageMarkdown text={text} />);
    expect(screen.getByRole("heading", { level: 2, name: "Big-O basics" })).toBeInTheDocument();
    const lists = screen.getAllByRole("list");
    expect(lists.map((l) => l.tagName)).toEqual(["OL", "UL"]);
    expect(within(lists[0]!).getAllByRole("listitem")).toHaveLength(2);
    const table = screen.getByRole("table");
    expect(within(table).getAllByRole("columnheader").map((h) => h.textContent)).toEqual(["operation", "array", "linked list"]);
    expect(within(table).getAllByRole("cell").map((c) => c.textContent)).toEqual(["index", "O(1)", "O(n)"]);
    expect(container.querySelector("code")?.textContent).toBe("O(1)");
    expect(container.querySelector("strong")?.textContent).toBe("O(n)");
  });

  it("does not render raw HTML from the model", () => {
    const { container } = render(<MessageMarkdown text={'Hi <img src=x onerror="alert(1)"> there'} />);
    expect(container.querySelector("img")).toBeNull();
  });
});

describe("message renderer: code", () => {
  it("highlights a fenced block in a known language and copies its exact text", async () => {
    const user = userEvent.setup();
    const writeText = vi.fn().mockResolvedValue(undefined);
    Object.defineProperty(navigator, "clipboard", { value: { writeText }, configurable: true });
    const code = 'def greet(name):\n    return f"hi {name}"  # say hi';
    const { container } = render(<MessageMarkdown text={"Try this:\n\n```python\n" + code + "\n```\n"} />);
    const codeEl = container.querySelector("pre code")!;
    expect(codeEl.textContent).toBe(code);
    expect(codeEl.querySelector(".hljs-keyword")?.textContent).toBe("def");
    expect(codeEl.querySelector(".hljs-comment")?.textContent).toBe("# say hi");
    expect(screen.getByText("python")).toBeInTheDocument();

    await user.click(screen.getByRole("button", { name: "Copy code" }));
    expect(writeText).toHaveBeenCalledWith(code);
    expect(await screen.findByRole("button", { name: "Code copied" })).toHaveTextContent("Copied");
  });

  it("shows code of an unknown language as plain text without breaking", () => {
    const { container } = render(<MessageMarkdown text={"```brainfart\n+++[>+<-]\n```"} />);
    expect(container.querySelector("pre code")?.textContent).toBe("+++[>+<-]");
    expect(screen.getByRole("button", { name: "Copy code" })).toBeInTheDocument();
  });
});

describe("message renderer: EXPLAIN chips", () => {
  it("turns marked terms into buttons that ask for an explanation", async () => {
    const user = userEvent.setup();
    const onExplain = vi.fn();
    const { container } = render(
      <MessageMarkdown
        text="A [EXPLAIN]hash table[/EXPLAIN] gives **fast** lookups; see [EXPLAIN]Big-O (amortized)[/EXPLAIN]."
        onExplain={onExplain}
      />,
    );
    expect(container.textContent).not.toContain("EXPLAIN");
    const chip = screen.getByRole("button", { name: "Explain hash table" });
    expect(chip).toHaveTextContent("hash table");
    await user.click(chip);
    expect(onExplain).toHaveBeenCalledWith("hash table");
    await user.click(screen.getByRole("button", { name: "Explain Big-O (amortized)" }));
    expect(onExplain).toHaveBeenLastCalledWith("Big-O (amortized)");
  });

  it("leaves marks inside code alone", () => {
    const { container } = render(
      <MessageMarkdown text={"Write `[EXPLAIN]x[/EXPLAIN]` literally.\n\n```\n[EXPLAIN]y[/EXPLAIN]\n```"} onExplain={() => {}} />,
    );
    expect(screen.queryByRole("button", { name: /^Explain/ })).toBeNull();
    expect(container.querySelector("p code")?.textContent).toBe("[EXPLAIN]x[/EXPLAIN]");
    expect(container.querySelector("pre code")?.textContent).toBe("[EXPLAIN]y[/EXPLAIN]");
  });

  it("shows chips as disabled when explaining is not possible", () => {
    render(<MessageMarkdown text="A [EXPLAIN]stack[/EXPLAIN]." onExplain={() => {}} explainDisabled />);
    expect(screen.getByRole("button", { name: "Explain stack" })).toBeDisabled();
  });
});

describe("message renderer: streaming", () => {
  it("appends streamed text, keeping finished blocks' DOM in place", () => {
    const { container, rerender } = render(<MessageMarkdown text="# Recursion" streaming />);
    const heading = screen.getByRole("heading", { name: "Recursion" });
    rerender(<MessageMarkdown text={"# Recursion\n\nA function that calls"} streaming />);
    rerender(<MessageMarkdown text={"# Recursion\n\nA function that calls itself.\n\n```js\nfunction f(n) {"} streaming />);
    // The heading element is the same node: earlier blocks are not re-rendered.
    expect(screen.getByRole("heading", { name: "Recursion" })).toBe(heading);
    expect(container.querySelector("p")?.textContent).toBe("A function that calls itself.");
    expect(container.querySelector("pre code")?.textContent).toBe("function f(n) {");
    rerender(
      <MessageMarkdown text={"# Recursion\n\nA function that calls itself.\n\n```js\nfunction f(n) {\n  return n && f(n - 1);\n}\n```"} />,
    );
    expect(container.querySelector("pre code")?.textContent).toBe("function f(n) {\n  return n && f(n - 1);\n}");
    expect(container.querySelector("pre code .hljs-keyword")?.textContent).toBe("function");
  });

  it("hides a half-written EXPLAIN mark until it is complete", () => {
    const onExplain = vi.fn();
    const { container, rerender } = render(<MessageMarkdown text="Think of a [EXPL" streaming onExplain={onExplain} />);
    expect(container.textContent).toBe("Think of a");
    rerender(<MessageMarkdown text="Think of a [EXPLAIN]que" streaming onExplain={onExplain} />);
    expect(container.textContent).toBe("Think of a que");
    rerender(<MessageMarkdown text="Think of a [EXPLAIN]queue[/EXP" streaming onExplain={onExplain} />);
    expect(container.textContent).toBe("Think of a queue");
    rerender(<MessageMarkdown text="Think of a [EXPLAIN]queue[/EXPLAIN] as a line" streaming onExplain={onExplain} />);
    expect(screen.getByRole("button", { name: "Explain queue" })).toBeInTheDocument();
    expect(container.textContent).toBe("Think of a queue? as a line");
  });
});

describe("block splitting", () => {
  it("cuts at blank lines before unindented lines, never inside fences or list items", () => {
    expect(splitBlocks("a\n\nb")).toEqual(["a\n", "b"]);
    expect(splitBlocks("```\nx\n\ny\n```\n\nz")).toEqual(["```\nx\n\ny\n```\n", "z"]);
    expect(splitBlocks("- item\n\n  more of item\n\nnext")).toEqual(["- item\n\n  more of item\n", "next"]);
  });

  it("tidies only the streaming tail", () => {
    expect(tidyStreamingTail("x [EXPLAIN]a[/EXPLAIN] y [EX")).toBe("x [EXPLAIN]a[/EXPLAIN] y ");
    expect(tidyStreamingTail("see [link")).toBe("see [link");
  });
});
