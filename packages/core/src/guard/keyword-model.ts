// Tier 1 of the topic guard: word lists compiled once into Maps (one pass
// over the tokens per question, no regex per call) and a linear classifier
// over hashed n-grams (classifier.ts). decide.ts combines the two.
import type { ChatMessage } from "../ports.js";
import { LinearClassifier } from "./classifier.js";
import { decide, isTopicless, type Analysis } from "./decide.js";
import { TOPIC_REJECTION_TEXT } from "./rejection.js";
import { tokenize } from "./tokenize.js";
import {
  ACKNOWLEDGEMENTS,
  AMBIGUOUS_TERMS,
  CS_TERMS,
  GREETINGS,
  LESSON_META,
  NON_CS_TERMS,
  REFERENCE_WORDS,
  STOPWORDS,
  WEAK_CS_TERMS,
} from "./vocabulary.js";
import {
  AMBIGUOUS_MORE,
  CS_AREA_TERMS,
  CS_FOREIGN_TERMS,
  FORMAT_WRAPPERS,
  NON_CS_FOREIGN,
  NON_CS_MORE,
  OVERRIDE_PHRASES,
  STOPWORDS_FOREIGN,
  TASK_PHRASES,
} from "./vocabulary-more.js";

export type Tier1Decision = "allow" | "reject" | "uncertain";

export interface Tier1Result {
  decision: Tier1Decision;
  /** Machine-readable: cs_term:<term>, code:<signal>, task:<phrase>, cs_context:<a>+<b>, classifier:<on|off>,
   *  non_cs:<term>, wrapper:<term>, override:<phrase>, mixed:<term>, ambiguous:<term>, weak_cs:<term>,
   *  greeting, lesson_meta, no_words, no_signal, followup. */
  reason: string;
}

export interface Vocabulary {
  cs: readonly string[];
  ambiguous: readonly string[];
  weak: readonly string[];
  nonCs: readonly string[];
  greetings: readonly string[];
  lessonMeta: readonly string[];
  acknowledgements: readonly string[];
  stopwords: readonly string[];
  references: readonly string[];
  /** Answer-delivery wrappers ("as JSON", "in a table"). */
  format: readonly string[];
  /** Attempts to lift the topic rule ("ignore the topic rule", "this counts as programming"). */
  override: readonly string[];
  /** Programming-task framing ("write a program", "app that"). */
  task: readonly string[];
}

export const DEFAULT_VOCABULARY: Vocabulary = {
  cs: [...CS_TERMS, ...CS_AREA_TERMS, ...CS_FOREIGN_TERMS],
  ambiguous: [...AMBIGUOUS_TERMS, ...AMBIGUOUS_MORE],
  weak: WEAK_CS_TERMS,
  nonCs: [...NON_CS_TERMS, ...NON_CS_MORE, ...NON_CS_FOREIGN],
  greetings: GREETINGS,
  lessonMeta: LESSON_META,
  acknowledgements: ACKNOWLEDGEMENTS,
  stopwords: [...STOPWORDS, ...STOPWORDS_FOREIGN],
  references: REFERENCE_WORDS,
  format: FORMAT_WRAPPERS,
  override: OVERRIDE_PHRASES,
  task: TASK_PHRASES,
};

type Kind = "override" | "format" | "task" | "cs" | "ambiguous" | "non_cs" | "weak" | "meta" | "ack" | "greeting";
interface Entry {
  kind: Kind;
  term: string;
}
interface Phrase {
  words: string[];
  entry: Entry;
}

/** How many recent messages may settle an uncertain follow-up, and how much of each is read. */
export const HISTORY_MESSAGES = 4;
const HISTORY_SCAN_CHARS = 2_000;

/** "lists" -> "list", "queries" -> "query", "hashes" -> "hash": compare without allocating. */
function sameStem(tok: string, word: string): boolean {
  if (tok === word) return true;
  const tl = tok.length;
  const wl = word.length;
  if (tl < 4 || tok.charCodeAt(tl - 1) !== 115 /* s */) return false;
  if (tl === wl + 1) return tok.startsWith(word);
  if (tl === wl + 2 && tok.charCodeAt(tl - 2) === 101 /* e */) return tok.startsWith(word);
  if (tl === wl + 2 && tok.endsWith("ies") && word.charCodeAt(wl - 1) === 121 /* y */) {
    for (let k = 0; k < wl - 1; k++) if (tok.charCodeAt(k) !== word.charCodeAt(k)) return false;
    return true;
  }
  return false;
}

/** Singular candidates of a plural-looking token (only computed on a miss). */
function singulars(tok: string): string[] {
  const l = tok.length;
  if (l < 4 || tok.charCodeAt(l - 1) !== 115 || tok.endsWith("ss") || tok.endsWith("us") || tok.endsWith("is")) return [];
  const out = [tok.slice(0, -1)];
  if (tok.endsWith("es")) out.push(tok.slice(0, -2));
  if (tok.endsWith("ies")) out.push(`${tok.slice(0, -3)}y`);
  return out;
}

/** A hyphenated term also matches spaced and joined: "front-end" -> "front end", "frontend". */
function variants(term: string): string[] {
  if (!/\w-\w/.test(term)) return [term];
  return [term, term.replace(/(\w)-(\w)/g, "$1 $2"), term.replace(/(\w)-(\w)/g, "$1$2")];
}

export class KeywordModel {
  readonly #single = new Map<string, Entry>();
  readonly #phrases = new Map<string, Phrase[]>();
  readonly #stop: Set<string>;
  readonly #refs: Set<string>;
  readonly #classifier: LinearClassifier;

  constructor(vocab: Vocabulary = DEFAULT_VOCABULARY, classifier: LinearClassifier = new LinearClassifier()) {
    this.#classifier = classifier;
    // Earlier lists win when a term is in two: the intent phrases first, then
    // a computing sense beats an everyday one.
    const lists: [Kind, readonly string[]][] = [
      ["override", vocab.override],
      ["format", vocab.format],
      ["task", vocab.task],
      ["cs", vocab.cs],
      ["ambiguous", vocab.ambiguous],
      ["non_cs", vocab.nonCs],
      ["weak", vocab.weak],
      ["meta", vocab.lessonMeta],
      ["ack", vocab.acknowledgements],
      ["greeting", vocab.greetings],
    ];
    for (const [kind, terms] of lists) {
      for (const term of terms) {
        const entry: Entry = { kind, term };
        for (const variant of variants(term)) {
          const words = tokenize(variant, Number.POSITIVE_INFINITY).toks;
          if (words.length === 0) continue;
          if (words.length === 1) {
            if (!this.#single.has(words[0]!)) this.#single.set(words[0]!, entry);
            continue;
          }
          const list = this.#phrases.get(words[0]!) ?? [];
          if (!list.some((p) => p.words.join(" ") === words.join(" "))) list.push({ words, entry });
          this.#phrases.set(words[0]!, list);
        }
      }
    }
    for (const list of this.#phrases.values()) list.sort((a, b) => b.words.length - a.words.length);
    this.#stop = new Set(vocab.stopwords);
    this.#refs = new Set(vocab.references);
  }

  classify(text: string, history?: readonly ChatMessage[]): Tier1Result {
    const analysis = this.#analyse(text, false);
    const result = decide(analysis);
    if (result.decision !== "uncertain" || !history || history.length === 0) return result;
    // History only settles a message with no topic of its own ("why?", "and
    // in Java?"); a message's own subject is never overridden by it.
    if (isTopicless(analysis) && this.#historyIsComputing(history)) return { decision: "allow", reason: "followup" };
    return result;
  }

  /** The classifier's log-odds for a text (for tests and the bench). */
  logit(text: string): number {
    return this.#classifier.logit(tokenize(text).toks);
  }

  #historyIsComputing(history: readonly ChatMessage[]): boolean {
    let seen = 0;
    for (let k = history.length - 1; k >= 0 && seen < HISTORY_MESSAGES; k--) {
      const m = history[k]!;
      if (m.role === "system") continue;
      seen++;
      if (m.role === "assistant" && m.content === TOPIC_REJECTION_TEXT) continue;
      const a = this.#analyse(m.content.slice(0, HISTORY_SCAN_CHARS), true);
      if (a.cs !== null || a.code !== null) return true;
      if (a.nonCs === null && a.ambiguous.length + a.weak.length >= 2) return true;
    }
    return false;
  }

  #analyse(text: string, history: boolean): Analysis {
    const { toks, code } = tokenize(text);
    const a: Analysis = {
      cs: null,
      code,
      ambiguous: [],
      weak: [],
      nonCs: null,
      format: null,
      override: null,
      task: null,
      meta: false,
      ack: false,
      greeting: false,
      uncovered: 0,
      reference: false,
      words: toks.length,
      logit: 0,
    };
    const n = toks.length;
    let i = 0;
    while (i < n) {
      const tok = toks[i]!;
      if (this.#refs.has(tok)) a.reference = true;

      let best = this.#matchPhrase(toks, i, tok, undefined);
      const plural = tok.length >= 4 && tok.charCodeAt(tok.length - 1) === 115; /* s */
      if (plural) for (const s of singulars(tok)) best = this.#matchPhrase(toks, i, s, best);
      if (best) {
        for (let k = 1; k < best.words.length; k++) if (this.#refs.has(toks[i + k]!)) a.reference = true;
        this.#record(a, best.entry);
        i += best.words.length;
      } else {
        let entry = this.#single.get(tok);
        if (!entry && plural) for (const s of singulars(tok)) if ((entry = this.#single.get(s))) break;
        if (entry) this.#record(a, entry);
        else if (!this.#stop.has(tok)) a.uncovered++;
        i++;
      }
      if (history && a.cs !== null) return a;
    }
    // History is judged by keywords alone; the classifier reads only the new message.
    if (!history) a.logit = this.#classifier.logit(toks);
    return a;
  }

  /** The longest phrase starting with `key` at toks[i], if longer than `best`. */
  #matchPhrase(toks: string[], i: number, key: string, best: Phrase | undefined): Phrase | undefined {
    const list = this.#phrases.get(key);
    if (!list) return best;
    for (const p of list) {
      if (best && p.words.length <= best.words.length) return best;
      if (i + p.words.length > toks.length) continue;
      let ok = true;
      for (let k = 1; k < p.words.length; k++) {
        if (!sameStem(toks[i + k]!, p.words[k]!)) {
          ok = false;
          break;
        }
      }
      if (ok) return p;
    }
    return best;
  }

  #record(a: Analysis, e: Entry): void {
    switch (e.kind) {
      case "cs":
        a.cs ??= e.term;
        break;
      case "ambiguous":
        if (!a.ambiguous.includes(e.term)) a.ambiguous.push(e.term);
        break;
      case "weak":
        if (!a.weak.includes(e.term)) a.weak.push(e.term);
        break;
      case "non_cs":
        a.nonCs ??= e.term;
        break;
      case "format":
        a.format ??= e.term;
        break;
      case "override":
        a.override ??= e.term;
        break;
      case "task":
        a.task ??= e.term;
        break;
      case "meta":
        a.meta = true;
        break;
      case "ack":
        a.ack = true;
        break;
      case "greeting":
        a.greeting = true;
        break;
    }
  }
}
