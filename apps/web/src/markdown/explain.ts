// `[EXPLAIN]term[/EXPLAIN]` in an answer marks a term the student can click to
// have explained. A remark plugin turns the marks into `explain:` links (code
// is left alone because it is not a text node); the link renderer makes chips.
import type { Link, Parent, Root, Text } from "mdast";

export const EXPLAIN_PREFIX = "explain:";
const MARK = /\[EXPLAIN\]([^[\]\n]{1,120}?)\[\/EXPLAIN\]/gi;

function splitText(value: string): (Text | Link)[] | null {
  MARK.lastIndex = 0;
  if (!MARK.test(value)) return null;
  MARK.lastIndex = 0;
  const out: (Text | Link)[] = [];
  let last = 0;
  for (let m = MARK.exec(value); m; m = MARK.exec(value)) {
    if (m.index > last) out.push({ type: "text", value: value.slice(last, m.index) });
    const term = m[1]!.trim();
    if (term) {
      out.push({ type: "link", url: EXPLAIN_PREFIX + encodeURIComponent(term), children: [{ type: "text", value: term }] });
    }
    last = m.index + m[0].length;
  }
  if (last < value.length) out.push({ type: "text", value: value.slice(last) });
  return out;
}

function walk(node: Parent): void {
  for (let i = 0; i < node.children.length; i++) {
    const child = node.children[i]!;
    if (child.type === "text") {
      const parts = splitText(child.value);
      if (parts) {
        node.children.splice(i, 1, ...(parts as typeof node.children));
        i += parts.length - 1;
      }
    } else if ("children" in child && child.type !== "link" && child.type !== "linkReference") {
      walk(child as Parent);
    }
  }
}

export function remarkExplain() {
  return (tree: Root) => walk(tree);
}

const OPEN = "[explain]";
const CLOSE = "[/explain]";

/**
 * While an answer streams, a mark may be cut in half. Hide the half-written
 * tag so the student sees the term, not "[EXPL", until the mark is complete.
 */
export function tidyStreamingTail(text: string): string {
  const lower = text.toLowerCase();
  let out = text;
  const open = lower.lastIndexOf(OPEN);
  if (open >= 0 && lower.indexOf(CLOSE, open) < 0) {
    out = out.slice(0, open) + out.slice(open + OPEN.length);
  }
  const tail = out.slice(-CLOSE.length).toLowerCase();
  for (const tag of [OPEN, CLOSE]) {
    for (let n = Math.min(tag.length - 1, tail.length); n >= 2; n--) {
      if (tail.endsWith(tag.slice(0, n))) return out.slice(0, out.length - n);
    }
  }
  return out;
}

/** The mark-up removed: for previews and plain-text fallbacks. */
export function stripExplainMarks(text: string): string {
  return text.replace(/\[\/?EXPLAIN\]/gi, "");
}
