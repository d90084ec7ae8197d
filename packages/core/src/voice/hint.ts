// The speech recognizer's vocabulary hint (Whisper `prompt`): the technical
// terms of the conversation so far, spelled as the conversation spells them,
// so "Dijkstra", "Kubernetes" or "PostgreSQL" come out right instead of
// sounding-alike English words.
import { CS_TERMS } from "../guard/vocabulary.js";

/** Always sent, so even the first spoken question leans towards computing words. */
export const HINT_PREAMBLE = "A computer science tutoring session.";

// Rare, specific terms help the recognizer; "computer" or "code" do not.
const TOO_COMMON = new Set([
  "computer", "computing", "programming", "coding", "software", "hardware", "code", "array", "debug", "algorithm",
  "enum", "struct", "tuple", "runtime", "computational",
]);
// Terms by their first word, each as its list of words: one pass over a
// message's words finds every term (a 300-term regex alternation costs tens
// of milliseconds to compile and milliseconds per message).
const TERMS_BY_FIRST = new Map<string, string[][]>();
for (const term of CS_TERMS) {
  if (TOO_COMMON.has(term)) continue;
  const words = term.split(" ");
  const list = TERMS_BY_FIRST.get(words[0]!) ?? [];
  list.push(words);
  TERMS_BY_FIRST.set(words[0]!, list);
}
for (const list of TERMS_BY_FIRST.values()) list.sort((a, b) => b.length - a.length);
// A word keeps the symbols of tech terms (c++, c#, .net, node.js, bellman-ford);
// edge punctuation and a possessive 's are trimmed.
const TOKEN_RE = /[\p{L}\p{N}.+#'’_-]+/gu;
const trimToken = (t: string) => t.replace(/^[^\p{L}\p{N}.]+|(?<![+#])[^\p{L}\p{N}+#]+$/gu, "").replace(/['’]s$/u, "").replace(/\.+$/, "");

interface Token {
  word: string;
  lower: string;
  index: number;
}

function tokens(text: string): Token[] {
  const out: Token[] = [];
  for (const m of text.matchAll(TOKEN_RE)) {
    const word = trimToken(m[0]);
    if (word) out.push({ word, lower: word.toLowerCase(), index: m.index });
  }
  return out;
}

/** Vocabulary terms in `toks`, as written in the text. */
function* vocabularyTerms(text: string, toks: Token[]): Generator<string> {
  for (let i = 0; i < toks.length; i++) {
    const candidates = TERMS_BY_FIRST.get(toks[i]!.lower);
    if (!candidates) continue;
    for (const words of candidates) {
      if (i + words.length > toks.length) continue;
      let ok = true;
      for (let k = 1; k < words.length && ok; k++) ok = toks[i + k]!.lower === words[k];
      if (!ok) continue;
      const last = toks[i + words.length - 1]!;
      yield text.slice(toks[i]!.index, last.index + last.word.length);
      i += words.length - 1;
      break;
    }
  }
}

// Words that look technical whatever the list says: CamelCase (JavaScript,
// PostgreSQL), acronyms (TCP, SQL), letters with digits (IPv6, x86, SHA-256),
// and capitalised words inside a sentence (Dijkstra, Kubernetes).
const FENCE_RE = /```[\s\S]*?(?:```|$)/g;
const ORDINARY_CAPITALISED = new Set([
  "I", "I'm", "The", "A", "An", "This", "That", "These", "Those", "It", "Its", "You", "Your", "We", "Our", "They",
  "If", "In", "On", "For", "To", "And", "But", "Or", "So", "Yes", "No", "OK", "Ok", "Let", "Here", "There", "What",
  "Why", "How", "When", "Where", "Which", "Who", "Note", "Example", "Step", "Chapter", "Exercise", "Sorry", "Great",
  "Good", "Now", "Then", "First", "Second", "Next", "Finally", "Also", "Each", "Every", "Some", "Think", "Try",
]);

const LOWER_ASCII = /^[a-z']+$/;

function technical(word: string, sentenceStart: boolean): boolean {
  if (word.length < 2 || LOWER_ASCII.test(word) || ORDINARY_CAPITALISED.has(word)) return false;
  if (/\p{N}/u.test(word) && /\p{L}/u.test(word)) return true; // IPv6, x86, SHA-256
  if (/[+#]/.test(word)) return true; // C++, C#
  if (/^\p{Lu}{2,6}$/u.test(word)) return true; // TCP, SQL
  if (/^\p{L}\p{Ll}+\p{Lu}/u.test(word) || /^\p{Lu}{2,}\p{Ll}/u.test(word)) return true; // JavaScript, PostgreSQL, useState
  return !sentenceStart && /^\p{Lu}\p{Ll}{2,}$/u.test(word); // Dijkstra, Kubernetes
}

/**
 * The hint for `texts` (oldest first): the preamble, then up to `maxChars` of
 * terms, the most recent and most repeated first, each once.
 */
export function vocabularyHint(texts: readonly string[], maxChars: number): string {
  const score = new Map<string, { term: string; score: number }>();
  const add = (term: string, weight: number) => {
    const key = term.toLowerCase();
    const e = score.get(key);
    if (e) {
      e.score += weight;
      // Prefer the capitalised spelling (the recognizer copies case).
      if (e.term === key && term !== key) e.term = term;
    } else {
      score.set(key, { term, score: weight });
    }
  };
  texts.forEach((raw, i) => {
    const recency = 1 + i / Math.max(1, texts.length); // later messages weigh more
    const text = raw.replace(FENCE_RE, " ").slice(0, 8_000);
    const toks = tokens(text);
    for (const term of vocabularyTerms(text, toks)) add(term, 2 * recency);
    for (const t of toks) {
      const before = text.slice(Math.max(0, t.index - 3), t.index).trimEnd();
      const sentenceStart = before === "" || /[.!?:\n*#>-]$/.test(before);
      if (technical(t.word, sentenceStart)) add(t.word, recency);
    }
  });
  const ranked = [...score.values()].sort((a, b) => b.score - a.score || a.term.localeCompare(b.term));
  const budget = maxChars - HINT_PREAMBLE.length - " Terms: .".length;
  const picked: string[] = [];
  let used = 0;
  for (const { term } of ranked) {
    const cost = term.length + (picked.length ? 2 : 0);
    if (used + cost > budget) continue;
    picked.push(term);
    used += cost;
  }
  return picked.length ? `${HINT_PREAMBLE} Terms: ${picked.join(", ")}.` : HINT_PREAMBLE;
}
