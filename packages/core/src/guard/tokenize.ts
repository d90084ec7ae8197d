// One pass over the characters: lowercase words (keeping the symbols that
// make tech terms: c++, c#, .net, node.js, two's, x86-64), operator tokens
// (==, &&, ->), and the first sign of pasted code (braces, backticks, calls).

export interface Tokens {
  /** Lowercased words and operators, in order. */
  toks: string[];
  /** The first code-looking signal, e.g. "code:braces", or null. */
  code: string | null;
}

const NON_ASCII = /[^\p{ASCII}]/u;
const CURLY_APOSTROPHE = /\u2019/g;
const LETTER_OR_DIGIT = /[\p{L}\p{N}]/u;

const OPERATORS_3 = new Set(["===", "!==", "<<=", ">>=", ">>>"]);
const OPERATORS_2 = new Set(["==", "!=", "&&", "||", "->", "=>", "::", "<<", ">>", "+=", "-=", "*=", "/=", "<=", ">=", "++", "%=", ":="]);
const OPERATOR_START = new Uint8Array(128);
for (const op of [...OPERATORS_3, ...OPERATORS_2]) OPERATOR_START[op.charCodeAt(0)] = 1;
const DIRECTIVES = new Set(["include", "define", "pragma", "ifdef", "ifndef", "endif"]);

const enum C {
  Tab = 9,
  Nl = 10,
  Cr = 13,
  Space = 32,
  Hash = 35,
  Apos = 39,
  LParen = 40,
  RParen = 41,
  Plus = 43,
  Dash = 45,
  Dot = 46,
  Slash = 47,
  Zero = 48,
  Nine = 57,
  Semi = 59,
  Lt = 60,
  Gt = 62,
  Underscore = 95,
  Backtick = 96,
  A = 97,
  S = 115,
  Z = 122,
  LBrace = 123,
  RBrace = 125,
  CurlyApos = 0x2019,
}

function isLetter(c: number, s: string, i: number): boolean {
  if (c >= C.A && c <= C.Z) return true;
  return c > 127 && c !== C.CurlyApos && LETTER_OR_DIGIT.test(s[i]!);
}

function isWord(c: number, s: string, i: number): boolean {
  return (c >= C.A && c <= C.Z) || (c >= C.Zero && c <= C.Nine) || c === C.Underscore || (c > 127 && isLetter(c, s, i));
}

/** Questions longer than this are judged by their opening (a 50,000-character paste shows its nature early). */
export const MAX_SCAN_CHARS = 2_000;

export function tokenize(input: string, maxChars = MAX_SCAN_CHARS): Tokens {
  let s = input.length > maxChars ? input.slice(0, maxChars) : input;
  if (NON_ASCII.test(s)) s = s.normalize("NFKC");
  s = s.toLowerCase();
  const n = s.length;
  const toks: string[] = [];
  let code: string | null = null;
  let braceOpen = false;
  let i = 0;

  while (i < n) {
    const c = s.charCodeAt(i);

    // a word, or a dotted name starting a token (.net, .env)
    const prev = i > 0 ? s.charCodeAt(i - 1) : C.Space;
    if (
      isWord(c, s, i) ||
      (c === C.Dot && i + 1 < n && isLetter(s.charCodeAt(i + 1), s, i + 1) && !isWord(prev, s, i - 1) && prev !== C.Dot)
    ) {
      const start = i;
      i++;
      for (;;) {
        while (i < n && isWord(s.charCodeAt(i), s, i)) i++;
        const j = s.charCodeAt(i);
        // inner joiners: node.js, 3.14, x86-64, two's, don’t
        if ((j === C.Dot || j === C.Dash || j === C.Apos || j === C.CurlyApos) && i + 1 < n && isWord(s.charCodeAt(i + 1), s, i + 1)) {
          i++;
          continue;
        }
        break;
      }
      // trailing ++ / # of c++, g++, c#, f#
      if (s.charCodeAt(i) === C.Plus && s.charCodeAt(i + 1) === C.Plus && !(i + 2 < n && isWord(s.charCodeAt(i + 2), s, i + 2))) i += 2;
      else if (s.charCodeAt(i) === C.Hash && !(i + 1 < n && isWord(s.charCodeAt(i + 1), s, i + 1))) i += 1;
      let tok = s.slice(start, i);
      if (tok.includes("\u2019")) tok = tok.replace(CURLY_APOSTROPHE, "'");
      toks.push(tok);
      // print(x), foo(), def f(  — but not "friend(s)"
      if (code === null && s.charCodeAt(i) === C.LParen && !(s.charCodeAt(i + 1) === C.S && s.charCodeAt(i + 2) === C.RParen)) {
        code = "code:call";
      }
      continue;
    }

    if (c <= C.Space) {
      i++;
      continue;
    }

    if (c < 128 && OPERATOR_START[c] === 1) {
      const three = s.slice(i, i + 3);
      if (OPERATORS_3.has(three)) {
        toks.push(three);
        i += 3;
        continue;
      }
      const two = three.slice(0, 2);
      if (OPERATORS_2.has(two)) {
        toks.push(two);
        i += 2;
        continue;
      }
    }

    if (code === null) {
      switch (c) {
        case C.LBrace:
          braceOpen = true;
          break;
        case C.RBrace:
          if (braceOpen) code = "code:braces";
          break;
        case C.Backtick:
          code = "code:backticks";
          break;
        case C.Semi: {
          const next = s.charCodeAt(i + 1);
          if (i + 1 >= n || next === C.Nl || next === C.Cr) code = "code:semicolon";
          break;
        }
        case C.Hash: {
          // #include <stdio.h>
          let j = i + 1;
          while (j < n && s.charCodeAt(j) >= C.A && s.charCodeAt(j) <= C.Z) j++;
          if (j > i + 1 && DIRECTIVES.has(s.slice(i + 1, j))) code = "code:directive";
          break;
        }
        case C.Lt: {
          // </div>, <p>, <br/>
          let j = i + 1;
          if (s.charCodeAt(j) === C.Slash) j++;
          const tagStart = j;
          while (j < n && j - i < 16 && s.charCodeAt(j) >= C.A && s.charCodeAt(j) <= C.Z) j++;
          if (j > tagStart && (s.charCodeAt(j) === C.Gt || (s.charCodeAt(j) === C.Slash && s.charCodeAt(j + 1) === C.Gt))) code = "code:html";
          break;
        }
        case C.Dash:
          // --verbose at the start of a word: a command-line flag
          if (s.charCodeAt(i + 1) === C.Dash && (prev <= C.Space) && isLetter(s.charCodeAt(i + 2), s, i + 2)) code = "code:flag";
          break;
      }
    }
    i++;
  }
  return { toks, code };
}

/** Lowercase, NFKC, punctuation stripped except inside tech terms, single spaces. */
export function normalizeText(text: string): string {
  return tokenize(text, Number.POSITIVE_INFINITY).toks.join(" ");
}
