// Markdown deltas in, speakable sentences out, as soon as each one completes.
//
// Two incremental stages, each a small state machine over its own buffer:
//   MarkdownStripper: raw markdown -> plain text, where "\n" means "a chunk
//     must end here" (paragraph, list item, heading, table row, code block)
//     and soft line breaks have become spaces;
//   Segmenter: plain text -> sentences (abbreviations, decimals, ellipses,
//     long-sentence cutting).
// Whenever a decision needs characters that have not arrived yet, a stage
// stops and keeps the undecided tail; it never decides differently because a
// delta happened to end somewhere. That is what makes any split of the stream
// produce exactly the chunks of the whole text, and it keeps each push
// proportional to the delta (only the short undecided tail is looked at again).

export const CODE_BLOCK_NOTICE = "The code is shown on screen.";
export const DEFAULT_MAX_CHUNK_CHARS = 220;

export interface SentenceChunkerOptions {
  /** Chunks longer than this are cut at a clause boundary or a space (browsers stop long utterances). */
  maxChars?: number;
  /** Spoken once in place of each fenced code block. */
  codeNotice?: string;
}

export class SentenceChunker {
  readonly #strip: MarkdownStripper;
  readonly #segment: Segmenter;

  constructor(options: SentenceChunkerOptions = {}) {
    const maxChars = options.maxChars ?? DEFAULT_MAX_CHUNK_CHARS;
    if (!Number.isInteger(maxChars) || maxChars < 20) throw new RangeError("maxChars must be an integer >= 20");
    this.#strip = new MarkdownStripper(options.codeNotice ?? CODE_BLOCK_NOTICE);
    this.#segment = new Segmenter(maxChars);
  }

  /** Feed the next delta; returns the sentences it completed (often none). */
  push(delta: string): string[] {
    if (delta.length === 0) return [];
    return this.#segment.feed(this.#strip.feed(delta, false), false);
  }

  /** End of the answer: returns whatever is left, then the chunker is ready for a new answer. */
  flush(): string[] {
    return this.#segment.feed(this.#strip.feed("", true), true);
  }
}

// ---------------------------------------------------------------- stage 1: markdown

const enum Mode {
  LineStart,
  Inline,
  SkipToEol, // then `afterSkip`
  FenceLineStart,
}

type LineKind = "none" | "plain" | "heading" | "list" | "quote" | "table";

const isBlank = (c: string) => c === " " || c === "\t" || c === "\r";
const isDigit = (c: string) => c >= "0" && c <= "9";
const isWordChar = (c: string) =>
  (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || isDigit(c) || (c > "\x7f" && c.toLowerCase() !== c.toUpperCase());
const ASCII_PUNCT = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

// Characters the inline scanner must look at; everything else is copied in runs.
const INLINE_SPECIAL = new Uint8Array(128);
for (const ch of "\n`\\*_~[]!<") INLINE_SPECIAL[ch.charCodeAt(0)] = 1;

const EXPLAIN_TAGS = ["[explain]", "[/explain]"] as const;

class MarkdownStripper {
  #buf = "";
  #pos = 0;
  #final = false;
  #out: string[] = [];

  #mode: Mode = Mode.LineStart;
  #afterSkip: Mode = Mode.LineStart;
  #kind: LineKind = "none";
  #prevKind: LineKind = "none";
  #pendingBreak = false;

  // inline state (reset at every line end)
  #codeTicks = 0;
  #linkDepth = 0;
  #urlDepth = 0;
  #prevChar = "";

  // fenced code block
  #fenceChar = "";
  #fenceLen = 0;
  #tableSearchFrom = 0;

  constructor(private readonly notice: string) {}

  feed(delta: string, final: boolean): string {
    this.#buf = this.#pos === 0 ? this.#buf + delta : this.#buf.slice(this.#pos) + delta;
    this.#tableSearchFrom = Math.max(0, this.#tableSearchFrom - this.#pos);
    this.#pos = 0;
    this.#final = final;
    while (this.#pos < this.#buf.length && this.#step());
    if (final) {
      this.#resolveBreak(true);
      this.#reset();
    }
    const text = this.#out.join("");
    this.#out = [];
    return text;
  }

  #reset(): void {
    this.#buf = "";
    this.#pos = 0;
    this.#mode = Mode.LineStart;
    this.#afterSkip = Mode.LineStart;
    this.#kind = "none";
    this.#prevKind = "none";
    this.#pendingBreak = false;
    this.#endInline();
    this.#fenceChar = "";
    this.#fenceLen = 0;
    this.#tableSearchFrom = 0;
  }

  #endInline(): void {
    this.#codeTicks = 0;
    this.#linkDepth = 0;
    this.#urlDepth = 0;
    this.#prevChar = "";
  }

  /** A line ended without a hard break; the next line decides between a space and a chunk end. */
  #resolveBreak(hard: boolean): void {
    if (!this.#pendingBreak) return;
    this.#pendingBreak = false;
    this.#out.push(hard ? "\n" : " ");
  }

  /** Returns false when more input is needed to decide. */
  #step(): boolean {
    switch (this.#mode) {
      case Mode.LineStart:
        return this.#lineStart();
      case Mode.Inline:
        return this.#inline();
      case Mode.SkipToEol:
        return this.#skipToEol();
      case Mode.FenceLineStart:
        return this.#fenceLineStart();
    }
  }

  #runEnd(from: number, ch: string): number {
    const buf = this.#buf;
    let j = from;
    while (j < buf.length && buf[j] === ch) j++;
    return j;
  }

  #lineStart(): boolean {
    const buf = this.#buf;
    const n = buf.length;
    let i = this.#pos;
    let quote = false;
    for (;;) {
      while (i < n && isBlank(buf[i]!)) i++;
      if (i < n && buf[i] === ">") {
        quote = true;
        i++;
        continue;
      }
      break;
    }
    if (i === n) {
      if (!this.#final) return false;
      this.#pos = n;
      return false;
    }
    const c = buf[i]!;

    if (c === "\n") {
      // blank line: paragraph end
      this.#resolveBreak(true);
      this.#prevKind = "none";
      this.#pos = i + 1;
      return true;
    }

    if (c === "`" || c === "~") {
      const j = this.#runEnd(i, c);
      if (j === n && !this.#final) return false;
      if (j - i >= 3) {
        this.#resolveBreak(true);
        this.#out.push("\n", this.notice, "\n");
        this.#fenceChar = c;
        this.#fenceLen = j - i;
        this.#prevKind = "none";
        this.#pos = j;
        this.#mode = Mode.SkipToEol; // the info string
        this.#afterSkip = Mode.FenceLineStart;
        return true;
      }
      return this.#beginLine(i, quote ? "quote" : "plain");
    }

    if (c === "#") {
      const j = this.#runEnd(i, "#");
      if (j === n && !this.#final) return false;
      if (j - i <= 6 && (j === n || isBlank(buf[j]!) || buf[j] === "\n")) return this.#beginLine(j, "heading");
      return this.#beginLine(i, quote ? "quote" : "plain");
    }

    if (c === "-" || c === "*" || c === "+" || c === "_" || c === "=") {
      if (i + 1 === n && !this.#final) return false;
      const next = i + 1 < n ? buf[i + 1]! : "\n";
      if (c !== "_" && c !== "=" && (isBlank(next) || next === "\n")) {
        // a bullet; drop a task-list box after it too
        let j = i + 1;
        while (j < n && isBlank(buf[j]!)) j++;
        if (j === n && !this.#final) return false;
        if (buf[j] === "[") {
          if (j + 3 > n && !this.#final) return false;
          const box = buf.slice(j, j + 3).toLowerCase();
          if (box === "[ ]" || box === "[x]") j += 3;
        }
        return this.#beginLine(j, "list");
      }
      if (c !== "+") {
        // a thematic break (---, ***, ___) or a setext underline (===, ---): the whole line is markup
        let j = i;
        let count = 0;
        while (j < n && (buf[j] === c || isBlank(buf[j]!))) {
          if (buf[j] === c) count++;
          j++;
        }
        if (j === n && !this.#final) return false;
        if ((count >= 3 || (c === "=" && this.#prevKind === "plain")) && (j === n || buf[j] === "\n")) {
          this.#resolveBreak(true);
          this.#out.push("\n");
          this.#prevKind = "none";
          this.#pos = j;
          this.#mode = Mode.SkipToEol;
          this.#afterSkip = Mode.LineStart;
          return true;
        }
      }
      return this.#beginLine(i, quote ? "quote" : "plain");
    }

    if (isDigit(c)) {
      let j = i;
      while (j < n && j - i < 10 && isDigit(buf[j]!)) j++;
      if (j === n && !this.#final) return false;
      if (j - i < 10 && (buf[j] === "." || buf[j] === ")")) {
        if (j + 1 === n && !this.#final) return false;
        if (j + 1 === n || isBlank(buf[j + 1]!) || buf[j + 1] === "\n") return this.#beginLine(j + 1, "list");
      }
      return this.#beginLine(i, quote ? "quote" : "plain");
    }

    if (c === "|") return this.#tableRow(i);

    return this.#beginLine(i, quote ? "quote" : "plain");
  }

  #beginLine(at: number, kind: LineKind): boolean {
    // Soft break only where Markdown would continue the same paragraph.
    const continues =
      (kind === "plain" && (this.#prevKind === "plain" || this.#prevKind === "list")) ||
      (kind === "quote" && this.#prevKind === "quote");
    this.#resolveBreak(!continues);
    this.#kind = kind;
    this.#endInline();
    this.#pos = at;
    this.#mode = Mode.Inline;
    return true;
  }

  #tableRow(i: number): boolean {
    const buf = this.#buf;
    let eol = buf.indexOf("\n", Math.max(i, this.#tableSearchFrom));
    if (eol < 0) {
      if (!this.#final) {
        this.#tableSearchFrom = buf.length;
        return false;
      }
      eol = buf.length;
    }
    this.#tableSearchFrom = 0;
    const row = buf.slice(i, eol);
    this.#resolveBreak(true);
    if (/^[\s|:-]*$/.test(row)) {
      // the |---|:--:| separator row
      this.#out.push("\n");
      this.#prevKind = "none";
      this.#pos = eol;
      this.#mode = Mode.SkipToEol;
      this.#afterSkip = Mode.LineStart;
      return true;
    }
    const cells = row
      .split("|")
      .map((cell) => cell.trim())
      .filter((cell) => cell.length > 0);
    // Cells read as a list; the row still goes through inline stripping.
    this.#buf = buf.slice(0, i) + cells.join(", ") + buf.slice(eol);
    this.#kind = "table";
    this.#endInline();
    this.#pos = i;
    this.#mode = Mode.Inline;
    return true;
  }

  #skipToEol(): boolean {
    const eol = this.#buf.indexOf("\n", this.#pos);
    if (eol < 0) {
      this.#pos = this.#buf.length;
      return false;
    }
    this.#pos = eol + 1;
    this.#mode = this.#afterSkip;
    return true;
  }

  #fenceLineStart(): boolean {
    const buf = this.#buf;
    const n = buf.length;
    let i = this.#pos;
    while (i < n && isBlank(buf[i]!)) i++;
    if (i === n) {
      if (this.#final) this.#pos = n;
      return false;
    }
    if (buf[i] === this.#fenceChar) {
      const j = this.#runEnd(i, this.#fenceChar);
      if (j === n && !this.#final) return false;
      if (j - i >= this.#fenceLen) {
        let k = j;
        while (k < n && isBlank(buf[k]!)) k++;
        if (k === n && !this.#final) return false;
        if (k === n || buf[k] === "\n") {
          this.#fenceChar = "";
          this.#pos = k;
          this.#mode = Mode.SkipToEol;
          this.#afterSkip = Mode.LineStart;
          return true;
        }
      }
    }
    this.#pos = i;
    this.#mode = Mode.SkipToEol;
    this.#afterSkip = Mode.FenceLineStart;
    return true;
  }

  #inline(): boolean {
    const buf = this.#buf;
    const n = buf.length;
    const out = this.#out;
    const final = this.#final;
    let pos = this.#pos;

    while (pos < n) {
      const c = buf[pos]!;

      if (c === "\n") {
        this.#pos = pos + 1;
        this.#endInline();
        if (this.#kind === "heading" || this.#kind === "table") {
          out.push("\n");
          this.#prevKind = "none";
        } else {
          this.#pendingBreak = true;
          this.#prevKind = this.#kind;
        }
        this.#mode = Mode.LineStart;
        return true;
      }

      if (this.#urlDepth > 0) {
        // inside the (url) of a link: dropped
        if (c === "(") this.#urlDepth++;
        else if (c === ")") this.#urlDepth--;
        pos++;
        continue;
      }

      if (this.#codeTicks > 0) {
        if (c !== "`") {
          let j = pos + 1;
          while (j < n && buf[j] !== "`" && buf[j] !== "\n") j++;
          out.push(buf.slice(pos, j));
          this.#prevChar = buf[j - 1]!;
          pos = j;
          continue;
        }
        const j = this.#runEnd(pos, "`");
        if (j === n && !final) break;
        if (j - pos === this.#codeTicks) this.#codeTicks = 0;
        pos = j;
        continue;
      }

      const code = c.charCodeAt(0);
      if (code >= 128 || INLINE_SPECIAL[code] === 0) {
        let j = pos + 1;
        while (j < n) {
          const k = buf.charCodeAt(j);
          if (k < 128 && INLINE_SPECIAL[k] === 1) break;
          j++;
        }
        out.push(buf.slice(pos, j));
        this.#prevChar = buf[j - 1]!;
        pos = j;
        continue;
      }

      if (c === "`") {
        const j = this.#runEnd(pos, "`");
        if (j === n && !final) break;
        this.#codeTicks = j - pos;
        pos = j;
        continue;
      }

      if (c === "\\") {
        if (pos + 1 === n && !final) break;
        const next = buf[pos + 1];
        if (next !== undefined && ASCII_PUNCT.includes(next)) {
          out.push(next);
          this.#prevChar = next;
          pos += 2;
        } else {
          out.push(c);
          this.#prevChar = c;
          pos++;
        }
        continue;
      }

      if (c === "*" || c === "_" || c === "~") {
        const j = this.#runEnd(pos, c);
        if (j === n && !final) break;
        const before = this.#prevChar;
        const after = j < n ? buf[j]! : "";
        let literal: boolean;
        if (c === "~") literal = j - pos < 2;
        else if (c === "*")
          literal =
            ((before === "" || isBlank(before)) && (after === "" || isBlank(after) || after === "\n")) ||
            (isDigit(before) && isDigit(after)); // "a * b", "2*3"
        else literal = isWordChar(before) && isWordChar(after); // snake_case stays
        if (literal) out.push(buf.slice(pos, j));
        this.#prevChar = c;
        pos = j;
        continue;
      }

      if (c === "[") {
        const head = buf.slice(pos, pos + 10).toLowerCase();
        const tag = EXPLAIN_TAGS.find((t) => head.startsWith(t));
        if (tag) {
          pos += tag.length;
          continue;
        }
        if (!final && pos + 10 > n && EXPLAIN_TAGS.some((t) => t.startsWith(head))) break;
        this.#linkDepth++;
        pos++;
        continue;
      }

      if (c === "]") {
        if (this.#linkDepth === 0) {
          out.push(c);
          this.#prevChar = c;
          pos++;
          continue;
        }
        if (pos + 1 === n && !final) break;
        this.#linkDepth--;
        if (buf[pos + 1] === "(") {
          this.#urlDepth = 1;
          pos += 2;
        } else pos++;
        continue;
      }

      if (c === "!") {
        if (pos + 1 === n && !final) break;
        if (buf[pos + 1] !== "[") {
          out.push(c);
          this.#prevChar = c;
        }
        pos++;
        continue;
      }

      // c === "<": drop HTML tags and autolinks (<br>, </b>, <https://…>); keep comparisons.
      let j = pos + 1;
      while (j < n && j - pos <= 40 && buf[j] !== ">" && buf[j] !== "<" && buf[j] !== "\n" && !isBlank(buf[j]!)) j++;
      if (j === n && !final && j - pos <= 40) break;
      const first = buf[pos + 1] ?? "";
      if (buf[j] === ">" && j > pos + 1 && (first === "/" || /[a-z]/i.test(first))) {
        pos = j + 1;
        continue;
      }
      out.push(c);
      this.#prevChar = c;
      pos++;
    }

    this.#pos = pos;
    return false;
  }
}

// ---------------------------------------------------------------- stage 2: sentences

// Abbreviations that never end a sentence, and ones that do only when the
// next word starts with a capital ("etc. Then" vs "etc. and").
const NEVER_END = new Set(["e.g", "i.e", "vs", "dr", "mr", "mrs", "ms", "prof", "st", "sr", "jr", "fig", "cf", "viz", "eq", "approx", "ca", "resp", "ex"]);
const MAYBE_END = new Set(["etc", "al", "inc", "ltd", "co", "corp", "no", "u.s", "u.k", "vol", "pp", "ch", "sec"]);

const isTerminator = (c: string) => c === "." || c === "!" || c === "?" || c === "…";
const isCloser = (c: string) => c === '"' || c === "'" || c === "”" || c === "’" || c === ")" || c === "]" || c === "»";
const isSpace = (c: string) => c === " " || c === "\t" || c === "\r" || c === "\u00a0" || c === "\u2009" || c === "\u202f";
const isUpper = (c: string) => c !== c.toLowerCase() && c === c.toUpperCase();
const isLower = (c: string) => c !== c.toUpperCase() && c === c.toLowerCase();
const SPEAKABLE = /[\p{L}\p{N}]/u;

class Segmenter {
  #tail = "";
  #cur = "";
  #curEndsSpace = true;
  #out: string[] = [];

  constructor(private readonly maxChars: number) {}

  feed(text: string, final: boolean): string[] {
    const tail = this.#tail + text;
    const n = tail.length;
    let i = 0;
    while (i < n) {
      const c = tail[i]!;
      if (c === "\n") {
        this.#end();
        i++;
        continue;
      }
      if (isSpace(c)) {
        if (!this.#curEndsSpace) {
          this.#cur += " ";
          this.#curEndsSpace = true;
        }
        i++;
        continue;
      }
      if (!isTerminator(c)) {
        let j = i + 1;
        while (j < n && tail[j] !== "\n" && !isSpace(tail[j]!) && !isTerminator(tail[j]!)) j++;
        this.#append(tail.slice(i, j));
        i = j;
        continue;
      }

      // A run of terminators, then closing quotes/brackets, then what follows.
      let j = i;
      while (j < n && isTerminator(tail[j]!)) j++;
      if (j === n && !final) break;
      let k = j;
      while (k < n && isCloser(tail[k]!)) k++;
      if (k === n && !final) break;
      const next = k < n ? tail[k]! : "";
      if (next !== "" && next !== "\n" && !isSpace(next)) {
        // 3.14, Node.js, example.com, v2.0, "?!" inside a word
        this.#append(tail.slice(i, k));
        i = k;
        continue;
      }
      const run = tail.slice(i, j);
      let needNextWord: "upper" | "notLower" | null = null;
      if (run === ".") {
        const word = this.#lastWord();
        if (NEVER_END.has(word)) {
          this.#append(tail.slice(i, k));
          i = k;
          continue;
        }
        if (MAYBE_END.has(word)) needNextWord = "upper";
      } else if (/^(\.{2,}|…)$/.test(run)) {
        needNextWord = "notLower"; // "Wait... what" continues, "Done... Next" ends
      }
      // 'Really?" she asked.' is one sentence
      if (needNextWord === null && k > j) needNextWord = "notLower";
      if (needNextWord) {
        let m = k;
        while (m < n && isSpace(tail[m]!)) m++;
        if (m === n && !final) break;
        const nc = m < n ? tail[m]! : "";
        const ends = nc === "" || nc === "\n" || (needNextWord === "upper" ? isUpper(nc) : !isLower(nc));
        this.#append(tail.slice(i, k));
        i = k;
        if (ends) this.#end();
        continue;
      }
      this.#append(tail.slice(i, k));
      i = k;
      this.#end();
    }
    this.#tail = i < n ? tail.slice(i) : "";
    if (final) {
      this.#end();
      this.#tail = "";
    }
    const out = this.#out;
    this.#out = [];
    return out;
  }

  #append(s: string): void {
    this.#cur += s;
    this.#curEndsSpace = false;
    while (this.#cur.length > this.maxChars) this.#cut();
  }

  /** The word just before a final ".", lowercased: letters, digits and inner dots ("e.g", "node.js"). */
  #lastWord(): string {
    const cur = this.#cur;
    let s = cur.length;
    while (s > 0) {
      const ch = cur[s - 1]!;
      if (ch === "." || isWordChar(ch)) s--;
      else break;
    }
    return cur.slice(s).toLowerCase();
  }

  // Only characters up to index `limit` decide the cut, so a stream split
  // anywhere cuts exactly where the whole text does.
  #cut(): void {
    const cur = this.#cur;
    const limit = this.maxChars;
    const minCut = Math.floor(limit * 0.4);
    let cut = -1;
    for (let p = limit - 1; p >= minCut; p--) {
      const ch = cur[p];
      if ((ch === "," || ch === ";" || ch === ":") && cur[p + 1] === " ") {
        cut = p + 1;
        break;
      }
      if (ch === " " && p + 2 <= limit && (cur[p + 1] === "-" || cur[p + 1] === "–" || cur[p + 1] === "—") && cur[p + 2] === " ") {
        cut = p + 2;
        break;
      }
    }
    if (cut < 0) {
      const space = cur.lastIndexOf(" ", limit);
      cut = space >= minCut ? space : limit;
    }
    this.#emit(cur.slice(0, cut));
    this.#cur = cur.slice(cut).trimStart();
    this.#curEndsSpace = this.#cur.length === 0 || this.#cur.endsWith(" ");
  }

  #end(): void {
    this.#emit(this.#cur);
    this.#cur = "";
    this.#curEndsSpace = true;
  }

  #emit(s: string): void {
    const t = s.trim();
    if (t.length > 0 && SPEAKABLE.test(t)) this.#out.push(t);
  }
}
