// The course markup of PROTOCOL.md "Exercises and course progress", read
// from a tutor's Markdown answer: ```outline blocks, `## Chapter N: Title`
// headings and ```LANG exercise + ```LANG tests pairs. Pure and
// dependency-free: the server reads answers into the course with it and the
// browser splits answers into text and exercise cards with the same code, so
// both agree on what exercise N of an answer is.
import type { ExerciseLanguage } from "@tutor/protocol";

/** One fenced code block (CommonMark rules: ``` or ~~~, up to 3 spaces of indent). */
export interface Fence {
  /** The info string after the opening fence, trimmed. */
  info: string;
  /** The lines between the fences, indentation of the opening fence removed. */
  body: string;
  /** Offsets in the source: from the opening fence's first char to the end of the closing fence line. */
  start: number;
  end: number;
  /** False when the document ended before a closing fence. */
  closed: boolean;
}

interface Line {
  text: string;
  start: number;
  /** Offset just past the line's newline (or the end of the document). */
  next: number;
}

function lines(source: string): Line[] {
  const out: Line[] = [];
  let pos = 0;
  while (pos < source.length) {
    const nl = source.indexOf("\n", pos);
    const end = nl === -1 ? source.length : nl;
    out.push({ text: source.slice(pos, end).replace(/\r$/, ""), start: pos, next: nl === -1 ? source.length : nl + 1 });
    pos = end + 1;
  }
  return out;
}

const OPEN_RE = /^( {0,3})(`{3,}|~{3,})(.*)$/;

/** Every fenced block of a Markdown document, in order. Text outside them is not fenced code. */
export function fences(source: string): Fence[] {
  const ls = lines(source);
  const out: Fence[] = [];
  for (let i = 0; i < ls.length; i++) {
    const m = OPEN_RE.exec(ls[i]!.text);
    if (!m) continue;
    const indent = m[1]!.length;
    const marker = m[2]!;
    const info = m[3]!.trim();
    // A backtick fence's info string may not contain a backtick (that is inline code).
    if (marker[0] === "`" && info.includes("`")) continue;
    const close = new RegExp(`^ {0,3}${marker[0] === "`" ? "`" : "~"}{${marker.length},}\\s*$`);
    const body: string[] = [];
    let j = i + 1;
    for (; j < ls.length; j++) {
      if (close.test(ls[j]!.text)) break;
      body.push(ls[j]!.text.replace(new RegExp(`^ {0,${indent}}`), ""));
    }
    const closed = j < ls.length;
    const last = closed ? ls[j]! : ls[ls.length - 1]!;
    out.push({ info, body: body.join("\n"), start: ls[i]!.start, end: closed ? last.start + last.text.length : source.length, closed });
    i = j;
  }
  return out;
}

// ---------------------------------------------------------------- info strings

const LANGUAGE_ALIASES: Record<string, ExerciseLanguage> = {
  python: "python",
  python3: "python",
  py: "python",
  javascript: "javascript",
  js: "javascript",
  mjs: "javascript",
  node: "javascript",
};

/** `python exercise` → {lang, role}; roles are the markup's `exercise` and `tests` (also `test`). */
export function parseInfo(info: string): { lang: string; language: ExerciseLanguage | undefined; role: "exercise" | "tests" | "outline" | undefined } {
  const words = info.toLowerCase().split(/[\s,:;{}.]+/).filter(Boolean);
  const lang = words[0] ?? "";
  if (lang === "outline") return { lang, language: undefined, role: "outline" };
  const second = words[1];
  const role = second === "exercise" ? "exercise" : second === "tests" || second === "test" ? "tests" : undefined;
  return { lang, language: LANGUAGE_ALIASES[lang], role };
}

// ---------------------------------------------------------------- exercises

export interface Exercise {
  /** 0-based among the well-formed exercises of the answer: the `exercise_index` of a submission. */
  index: number;
  language: ExerciseLanguage;
  starter: string;
  tests: string;
  /** Source offsets of the pair, from the exercise fence to the end of the tests fence. */
  start: number;
  end: number;
}

/**
 * The exercises of an answer: a closed `LANG exercise` block followed, with
 * only blank lines between, by a closed `LANG tests` block of the same
 * language. Anything else (no tests, an unclosed block, mismatched or
 * unknown languages) is not an exercise and stays ordinary code.
 */
export function exercises(source: string): Exercise[] {
  const fs = fences(source);
  const out: Exercise[] = [];
  for (let i = 0; i + 1 < fs.length; i++) {
    const a = fs[i]!;
    const b = fs[i + 1]!;
    const ia = parseInfo(a.info);
    const ib = parseInfo(b.info);
    if (ia.role !== "exercise" || ib.role !== "tests" || !ia.language || ia.language !== ib.language) continue;
    if (!a.closed || !b.closed || source.slice(a.end, b.start).trim() !== "") continue;
    if (!b.body.trim()) continue;
    out.push({ index: out.length, language: ia.language, starter: a.body, tests: b.body, start: a.start, end: b.end });
    i++;
  }
  return out;
}

export type Segment = { kind: "markdown"; text: string } | { kind: "exercise"; exercise: Exercise };

/** The answer cut into Markdown runs and exercises, in order, for rendering. */
export function segments(source: string): Segment[] {
  const out: Segment[] = [];
  let pos = 0;
  for (const ex of exercises(source)) {
    if (ex.start > pos) out.push({ kind: "markdown", text: source.slice(pos, ex.start) });
    out.push({ kind: "exercise", exercise: ex });
    pos = ex.end;
  }
  if (pos < source.length) out.push({ kind: "markdown", text: source.slice(pos) });
  return out;
}

// ---------------------------------------------------------------- outline and chapters

export const MAX_CHAPTERS = 30;
export const MAX_CHAPTER_TITLE_CHARS = 120;

export interface OutlineChapter {
  /** The number the tutor gave it (it may skip or repeat numbers); null when unnumbered. */
  n: number | null;
  title: string;
  goal: string | null;
}

const NUMBERED_RE = /^(?:[-*+]\s+)?(?:#{1,6}\s*)?(?:\*\*|__)?(?:chapter|ch\.?|part|lesson|module)?\s*(\d{1,3})\s*(?:[.):\]]|\s-\s|\s)\s*(.+)$/i;
const BULLET_RE = /^[-*+•]\s+(.+)$/;

function stripEmphasis(s: string): string {
  return s
    .replace(/\[EXPLAIN\]|\[\/EXPLAIN\]/g, "")
    .replace(/(\*\*|__|`)/g, "")
    .replace(/^[*_\s]+|[*_\s]+$/g, "")
    .trim();
}

/** `Title — goal`, `Title - goal`, `Title: goal`, `Title (goal)` or only `Title`. */
function splitTitle(rest: string): { title: string; goal: string | null } {
  const clean = stripEmphasis(rest);
  // A dash is the markup's separator; a colon only when there is none.
  const m = /\s*[—–]\s*|\s-{1,2}\s/.exec(clean) ?? /:\s/.exec(clean);
  let title = clean;
  let goal: string | null = null;
  if (m && m.index > 0) {
    title = clean.slice(0, m.index);
    goal = clean.slice(m.index + m[0].length).trim() || null;
  } else {
    const p = /^(.+?)\s*\(([^)]+)\)$/.exec(clean);
    if (p) {
      title = p[1]!;
      goal = p[2]!;
    }
  }
  title = stripEmphasis(title).replace(/[.:;,]+$/, "");
  if (title.length > MAX_CHAPTER_TITLE_CHARS) title = `${title.slice(0, MAX_CHAPTER_TITLE_CHARS - 1)}…`;
  return { title, goal: goal && stripEmphasis(goal) };
}

/**
 * The chapters of one outline block's body. Numbered lines win; without any,
 * bullet lines; without those, every line that does not look like a lead-in
 * ("Here is the plan:"). Blank lines and extra prose are skipped.
 */
export function parseOutlineBody(body: string): OutlineChapter[] {
  const rows = body.split("\n").map((l) => l.trim()).filter(Boolean);
  const numbered: OutlineChapter[] = [];
  const bulleted: OutlineChapter[] = [];
  const plain: OutlineChapter[] = [];
  for (const row of rows) {
    const n = NUMBERED_RE.exec(row);
    if (n) {
      const t = splitTitle(n[2]!);
      if (t.title) numbered.push({ n: Number(n[1]), ...t });
      continue;
    }
    const b = BULLET_RE.exec(row);
    if (b) {
      const t = splitTitle(b[1]!);
      if (t.title) bulleted.push({ n: null, ...t });
      continue;
    }
    if (/[:?]$/.test(row) || /^#/.test(row)) continue;
    const t = splitTitle(row);
    if (t.title) plain.push({ n: null, ...t });
  }
  const chosen = numbered.length ? numbered : bulleted.length ? bulleted : plain;
  return chosen.slice(0, MAX_CHAPTERS);
}

/**
 * The last outline of an answer, or null. An unclosed outline block (an
 * answer cut off, or a forgotten fence) counts up to its first blank line
 * after a chapter, so the prose after it is not read as chapters.
 */
export function lastOutline(source: string): OutlineChapter[] | null {
  let found: OutlineChapter[] | null = null;
  for (const f of fences(source)) {
    if (parseInfo(f.info).role !== "outline") continue;
    let body = f.body;
    if (!f.closed) {
      const rows = body.split("\n");
      const cut = rows.findIndex((r, i) => i > 0 && r.trim() === "" && rows.slice(0, i).some((x) => NUMBERED_RE.test(x.trim())));
      body = (cut === -1 ? rows : rows.slice(0, cut)).join("\n");
    }
    const chapters = parseOutlineBody(body);
    if (chapters.length) found = chapters;
  }
  return found;
}

export interface ChapterHeading {
  n: number;
  title: string;
}

const HEADING_RE = /^ {0,3}#{1,6}\s+(?:\*\*|__)?\s*chapter\s+(\d{1,3})\b\s*[:.)—–-]?\s*(.*?)\s*#*\s*$/i;

/** The last `## Chapter N: Title` heading outside code blocks, or null. */
export function lastChapterHeading(source: string): ChapterHeading | null {
  const fenced = fences(source);
  let found: ChapterHeading | null = null;
  for (const line of lines(source)) {
    if (fenced.some((f) => line.start >= f.start && line.start < f.end)) continue;
    const m = HEADING_RE.exec(line.text);
    if (m) found = { n: Number(m[1]), title: stripEmphasis(m[2]!).replace(/[.:;,]+$/, "") };
  }
  return found;
}

function norm(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, " ").trim();
}

/**
 * Which outline chapter a heading means: by title first (the tutor may
 * renumber), then by the number it gave in the outline, then by position.
 * -1 when none fits.
 */
export function chapterIndex(outline: readonly { n: number | null; title: string }[], heading: ChapterHeading): number {
  const t = norm(heading.title);
  if (t) {
    const exact = outline.findIndex((c) => norm(c.title) === t);
    if (exact !== -1) return exact;
    const partial = outline.findIndex((c) => {
      const ct = norm(c.title);
      return ct.length >= 4 && t.length >= 4 && (ct.includes(t) || t.includes(ct));
    });
    if (partial !== -1) return partial;
  }
  const byNumber = outline.findIndex((c) => c.n === heading.n);
  if (byNumber !== -1) return byNumber;
  const byPosition = heading.n - 1;
  return byPosition >= 0 && byPosition < outline.length ? byPosition : -1;
}
