// Search input and snippets, shared by both store dialects so they agree.
// The student's text is never handed to FTS syntax: it is cut into words
// (letters and digits of any script), each searched as a plain word, the last
// as a prefix (the student is still typing it) once it has two characters (a
// single letter begins a word in nearly every message: as a prefix it would
// match them all, so it is searched as a word). Operators, quotes, `*`, `%`
// and the like are just separators.
import { TutorError } from "./errors.js";

export const SEARCH_MAX_TERMS = 12;
const WORD = /[\p{L}\p{N}\p{M}]+/gu;

/** Whether the last search word is matched as the start of a word (else as a whole word). */
export function lastIsPrefix(terms: readonly string[]): boolean {
  return [...(terms.at(-1) ?? "")].length >= 2;
}

/** The words to search for; throws invalid_message when there is none. */
export function searchTerms(query: string): string[] {
  const words = (query.normalize("NFC").match(WORD) ?? []).map((w) => w.toLowerCase());
  if (words.length === 0) throw new TutorError("invalid_message", "search for at least one word (letters or digits)");
  return words.slice(0, SEARCH_MAX_TERMS);
}

export const SNIPPET_OPEN = "<mark>";
export const SNIPPET_CLOSE = "</mark>";
const SNIPPET_CONTEXT = 60;

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * A short piece of `content` around the first match, every match in it
 * wrapped in <mark>…</mark> (the only markup in a snippet: any "<mark>" in the
 * content itself is defused first). Cut ends get "…".
 */
export function snippet(content: string, terms: string[]): string {
  const flat = content.replace(/\s+/g, " ").trim().replace(/<(\/?)mark>/gi, "‹$1mark›");
  const last = lastIsPrefix(terms) ? terms.length - 1 : -1;
  const alternatives = terms.map((t, i) => (i === last ? `${escapeRe(t)}[\\p{L}\\p{N}\\p{M}]*` : `${escapeRe(t)}(?![\\p{L}\\p{N}\\p{M}])`));
  const re = new RegExp(`(?<![\\p{L}\\p{N}\\p{M}])(?:${alternatives.join("|")})`, "giu");
  const first = re.exec(flat);
  let start = 0;
  let end = Math.min(flat.length, SNIPPET_CONTEXT * 2);
  if (first) {
    start = Math.max(0, first.index - SNIPPET_CONTEXT);
    end = Math.min(flat.length, first.index + first[0].length + SNIPPET_CONTEXT);
    // Whole words at the cut ends.
    if (start > 0) start = flat.indexOf(" ", start) + 1 || start;
    if (end < flat.length) end = flat.lastIndexOf(" ", end) > first.index + first[0].length ? flat.lastIndexOf(" ", end) : end;
  }
  const piece = flat.slice(start, end);
  re.lastIndex = 0;
  const marked = piece.replace(re, (m) => `${SNIPPET_OPEN}${m}${SNIPPET_CLOSE}`);
  return `${start > 0 ? "…" : ""}${marked}${end < flat.length ? "…" : ""}`;
}
