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
const escape = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const TERMS = [...CS_TERMS].filter((t) => !TOO_COMMON.has(t)).sort((a, b) => b.length - a.length);
// One alternation, longest first; edges are "not a letter or digit" so "c++" and ".net" still match.
const TERM_RE = new RegExp(`(?<![\\p{L}\\p{N}])(?:${TERMS.map(escape).join("|")})(?![\\p{L}\\p{N}])`, "giu");
// Words that look technical whatever the list says: CamelCase (JavaScript,
// PostgreSQL), acronyms (TCP, SQL), letters with digits (IPv6, x86, SHA-256),
// and capitalised words inside a sentence (Dijkstra, Kubernetes).
const WORD_RE = /[\p{L}][\p{L}\p{N}+#]*(?:[-.][\p{L}\p{N}]+)*[+#]*/gu;
const FENCE_RE = /```[\s\S]*?(?:```|$)/g;
const ORDINARY_CAPITALISED = new Set([
  "I", "I'm", "The", "A", "An", "This", "That", "These", "Those", "It", "Its", "You", "Your", "We", "Our", "They",
  "If", "In", "On", "For", "To", "And", "But", "Or", "So", "Yes", "No", "OK", "Ok", "Let", "Here", "There", "What",
  "Why", "How", "When", "Where", "Which", "Who", "Note", "Example", "Step", "Chapter", "Exercise", "Sorry", "Great",
  "Good", "Now", "Then", "First", "Second", "Next", "Finally", "Also", "Each", "Every", "Some", "Think", "Try",
]);

function technical(word: string, sentenceStart: boolean): boolean {
  if (word.length < 2 || ORDINARY_CAPITALISED.has(word)) return false;
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
    for (const m of text.matchAll(TERM_RE)) add(m[0], 2 * recency);
    for (const m of text.matchAll(WORD_RE)) {
      const before = text.slice(Math.max(0, m.index - 3), m.index).trimEnd();
      const sentenceStart = before === "" || /[.!?:\n*#>-]$/.test(before);
      if (technical(m[0], sentenceStart)) add(m[0], recency);
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
