import { describe, expect, it } from "vitest";
import { seededRandom } from "@tutor/testkit";
import { CODE_BLOCK_NOTICE, SentenceChunker } from "./index.js";

function whole(text: string, options?: ConstructorParameters<typeof SentenceChunker>[0]): string[] {
  const c = new SentenceChunker(options);
  return [...c.push(text), ...c.flush()];
}

function streamed(parts: string[], options?: ConstructorParameters<typeof SentenceChunker>[0]): string[] {
  const c = new SentenceChunker(options);
  const out: string[] = [];
  for (const p of parts) out.push(...c.push(p));
  out.push(...c.flush());
  return out;
}


function randomSplit(text: string, rand: () => number, maxPart: number): string[] {
  const parts: string[] = [];
  let i = 0;
  while (i < text.length) {
    const len = 1 + Math.floor(rand() * maxPart);
    parts.push(text.slice(i, i + len));
    i += len;
  }
  return parts;
}

const FIXTURES: string[] = [
  `## Binary search

**Binary search** finds an item in a *sorted* list, e.g. \`[1, 3, 5]\`, in O(log n) time. It halves the range each step! Why? Because the list is sorted.

1. Pick the middle element.
2. Compare it with the target.
3) Keep the half that can still contain it.

\`\`\`python
def search(xs, target):
    lo, hi = 0, len(xs) - 1
    return lo. This sentence is code and must not be read.
\`\`\`

That is all. Next we look at [EXPLAIN]recursion[/EXPLAIN].`,
  `Use Node.js v2.0 or later, i.e. anything after 2015 (see example.com for details). Pi is about 3.14159. Dr. Smith and Mr. Jones agree, vs. Prof. Lee who does not.`,
  `Wait... what happened? Hmm... Let me think. Apples, pears, etc. and more fruit. We stopped at etc. Then we went on.`,
  `| Operation | Array | Linked list |
|-----------|:-----:|-------------|
| access    | O(1)  | O(n)        |
| insert at front | O(n) | O(1) |

After the table comes a paragraph.`,
  `> A quote that spans
> two lines of text.

- [ ] an open task
- [x] a finished task
* a star bullet with __underscores__ and snake_case_name
+ a plus bullet with ~~struck~~ text

---

Setext heading
==============

Final words`,
  `Here is a long sentence that keeps going and going because it lists many things, such as arrays, linked lists, stacks, queues, hash tables, binary search trees, heaps, tries, graphs, and also a number of algorithms like quicksort, merge sort, heap sort, breadth-first search, depth-first search, Dijkstra's algorithm and A-star search, without ever stopping for breath until it finally ends here.`,
  `Averyveryverylongwordwithoutanyspacesthatgoesonandonandonandonandonandonandonandonandonandonandonandonandonandonandonandonandonandonandonandonandonandonandonandonandonandonandonandonandonandonandonandonandonandonandonandonandonandonandonandon and then words.`,
  `~~~js
const x = 1;
~~~
Text after a tilde fence.
\`\`\`\`md
\`\`\`
nested fence stays code
\`\`\`
\`\`\`\`
And after a four-backtick fence.`,
  `Inline \`obj.method()\` stays, and ![an image](http://x/y.png) gives its alt text. A <br> tag and <https://example.com> vanish; 2 < 3 and 5 > 4 stay. Escaped \\*stars\\* stay too.`,
  `What?! Really?" she asked. "Yes." He nodded (quietly.) Then he left…and came back… Later it rained.`,
  `Trailing text without a terminator`,
  `   \n\n  \n`,
  `1. First
   \`\`\`bash
   npm install
   \`\`\`
2. Second, with an unclosed fence:
\`\`\`
code to the end`,
  `# Title ending with hashes ##
Some text
continues on the next line
and ends here.
## Another heading
Text.`,
  `Use \`a_b\` and a*b and 2*3 in math; the C++ and C# languages; file.txt; version 1.2.3.`,
];

describe("SentenceChunker streaming", () => {
  it("yields each sentence as soon as it completes, not at the end of the answer", () => {
    const c = new SentenceChunker();
    expect(c.push("Binary search is fast")).toEqual([]);
    expect(c.push(". It halves")).toEqual(["Binary search is fast."]);
    expect(c.push(" the range. And")).toEqual(["It halves the range."]);
    expect(c.push(" then?")).toEqual([]);
    expect(c.push(" Done")).toEqual(["And then?"]);
    expect(c.flush()).toEqual(["Done"]);
  });

  it("gives the same chunks for any split of the stream as for the whole text", () => {
    for (const [f, text] of FIXTURES.entries()) {
      const expected = whole(text);
      expect(streamed([...text]), `fixture ${f} char by char`).toEqual(expected);
      for (let seed = 1; seed <= 40; seed++) {
        const rand = seededRandom(seed * 1000 + f);
        const parts = randomSplit(text, rand, seed % 2 === 0 ? 4 : 16);
        expect(streamed(parts), `fixture ${f} seed ${seed}`).toEqual(expected);
      }
    }
  });

  it("keeps the split property with a small maxChars that forces many cuts", () => {
    for (const [f, text] of FIXTURES.entries()) {
      const expected = whole(text, { maxChars: 40 });
      for (let seed = 1; seed <= 15; seed++) {
        const parts = randomSplit(text, seededRandom(seed + f * 77), 7);
        expect(streamed(parts, { maxChars: 40 }), `fixture ${f} seed ${seed}`).toEqual(expected);
      }
    }
  });

  it("can be reused after flush", () => {
    const c = new SentenceChunker();
    expect(c.push("```js\nlet a")).toEqual([CODE_BLOCK_NOTICE]);
    expect(c.flush()).toEqual([]);
    expect(c.push("Fresh start. ")).toEqual(["Fresh start."]);
    expect(c.flush()).toEqual([]);
  });
});

describe("SentenceChunker markdown", () => {
  it("reads headings, emphasis, links, inline code, lists and EXPLAIN tags as plain words", () => {
    expect(whole(FIXTURES[0]!)).toEqual([
      "Binary search",
      "Binary search finds an item in a sorted list, e.g. [1, 3, 5], in O(log n) time.",
      "It halves the range each step!",
      "Why?",
      "Because the list is sorted.",
      "Pick the middle element.",
      "Compare it with the target.",
      "Keep the half that can still contain it.",
      CODE_BLOCK_NOTICE,
      "That is all.",
      "Next we look at recursion.",
    ]);
  });

  it("announces each fenced code block once and never reads its content, even when the fence arrives in pieces", () => {
    const parts = ["Look:\n`", "`", "`pyt", "hon\nprint('hi.", " There.')\n", "``", "`\nAfter. ", "Second:\n~~", "~\nx = 1. Y\n~~~\nEnd."];
    expect(streamed(parts)).toEqual(["Look:", CODE_BLOCK_NOTICE, "After.", "Second:", CODE_BLOCK_NOTICE, "End."]);
    const out = whole(FIXTURES[7]!);
    expect(out).toEqual([CODE_BLOCK_NOTICE, "Text after a tilde fence.", CODE_BLOCK_NOTICE, "And after a four-backtick fence."]);
  });

  it("treats an unclosed fence as code to the end of the answer", () => {
    expect(whole(FIXTURES[12]!)).toEqual(["First", CODE_BLOCK_NOTICE, "Second, with an unclosed fence:", CODE_BLOCK_NOTICE]);
  });

  it("reads table rows cell by cell and skips the separator row", () => {
    expect(whole(FIXTURES[3]!)).toEqual([
      "Operation, Array, Linked list",
      "access, O(1), O(n)",
      "insert at front, O(n), O(1)",
      "After the table comes a paragraph.",
    ]);
  });

  it("handles quotes, task lists, bullets, strikethrough, rules and setext headings", () => {
    expect(whole(FIXTURES[4]!)).toEqual([
      "A quote that spans two lines of text.",
      "an open task",
      "a finished task",
      "a star bullet with underscores and snake_case_name",
      "a plus bullet with struck text",
      "Setext heading",
      "Final words",
    ]);
  });

  it("joins soft-wrapped lines of one paragraph and ends a chunk at headings", () => {
    expect(whole(FIXTURES[13]!)).toEqual([
      "Title ending with hashes ##",
      "Some text continues on the next line and ends here.",
      "Another heading",
      "Text.",
    ]);
  });

  it("drops images' urls, HTML tags and autolinks but keeps comparisons, escapes and inline code text", () => {
    expect(whole(FIXTURES[8]!)).toEqual([
      "Inline obj.method() stays, and an image gives its alt text.",
      "A tag and vanish; 2 < 3 and 5 > 4 stay.",
      "Escaped *stars* stay too.",
    ]);
  });

  it("keeps identifiers and arithmetic intact", () => {
    expect(whole(FIXTURES[14]!)).toEqual(["Use a_b and ab and 2*3 in math; the C++ and C# languages; file.txt; version 1.2.3."]);
  });
});

describe("SentenceChunker sentence boundaries", () => {
  it("does not split at abbreviations, decimals, versions, domains or file names", () => {
    expect(whole(FIXTURES[1]!)).toEqual([
      "Use Node.js v2.0 or later, i.e. anything after 2015 (see example.com for details).",
      "Pi is about 3.14159.",
      "Dr. Smith and Mr. Jones agree, vs. Prof. Lee who does not.",
    ]);
  });

  it("splits after an ellipsis or etc. only when the next word starts a new sentence", () => {
    expect(whole(FIXTURES[2]!)).toEqual([
      "Wait... what happened?",
      "Hmm...",
      "Let me think.",
      "Apples, pears, etc. and more fruit.",
      "We stopped at etc.",
      "Then we went on.",
    ]);
  });

  it("keeps closing quotes and brackets with their sentence", () => {
    expect(whole(FIXTURES[9]!)).toEqual([
      'What?!',
      'Really?" she asked.',
      '"Yes."',
      "He nodded (quietly.)",
      "Then he left…and came back…",
      "Later it rained.",
    ]);
  });

  it("cuts long sentences at clause boundaries, each chunk within the limit", () => {
    const out = whole(FIXTURES[5]!);
    expect(out.length).toBeGreaterThan(1);
    for (const chunk of out) expect(chunk.length).toBeLessThanOrEqual(220);
    // every cut but the last falls right after a comma
    for (const chunk of out.slice(0, -1)) expect(chunk.endsWith(",")).toBe(true);
    expect(out.join(" ")).toBe(FIXTURES[5]);
  });

  it("falls back to a word boundary, then to a hard cut, when there is no clause boundary", () => {
    const words = Array.from({ length: 80 }, (_, i) => `word${i}`).join(" ") + ".";
    const out = whole(words, { maxChars: 100 });
    for (const chunk of out) expect(chunk.length).toBeLessThanOrEqual(100);
    expect(out.join(" ")).toBe(words);
    const long = whole(FIXTURES[6]!);
    for (const chunk of long) expect(chunk.length).toBeLessThanOrEqual(220);
    expect(long[0]).toHaveLength(220); // no space to cut at: a hard cut
    expect(long.join("")).toBe(FIXTURES[6]);
  });

  it("never emits empty, blank or punctuation-only chunks", () => {
    expect(whole(FIXTURES[11]!)).toEqual([]);
    expect(whole("...\n\n---\n\n- \n\n!!! ?")).toEqual([]);
    for (const text of FIXTURES) for (const chunk of whole(text)) expect(chunk.trim()).toBe(chunk);
  });

  it("emits text without a final terminator on flush", () => {
    expect(whole(FIXTURES[10]!)).toEqual(["Trailing text without a terminator"]);
  });

  it("rejects a maxChars too small to hold a phrase", () => {
    expect(() => new SentenceChunker({ maxChars: 5 })).toThrow(RangeError);
  });
});
