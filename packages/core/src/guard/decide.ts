// How tier 1 turns the signals of one message into allow / reject /
// uncertain. Keywords say what the message mentions; the classifier's
// log-odds say what its words lean to as a whole. Where they agree, tier 1
// decides; where they conflict, it says "uncertain" and tier 2 decides.
// A computing term is never outvoted by the classifier into a rejection:
// refusing a real computing question costs more than one off-topic answer.
import type { Tier1Result } from "./keyword-model.js";

export interface Analysis {
  cs: string | null;
  code: string | null;
  ambiguous: string[];
  weak: string[];
  nonCs: string | null;
  /** An answer-delivery wrapper ("as JSON", "in a table"). */
  format: string | null;
  /** An attempt to lift the topic rule. */
  override: string | null;
  /** Programming-task framing ("write a program", "app that"). */
  task: string | null;
  meta: boolean;
  ack: boolean;
  greeting: boolean;
  /** Words that are neither known terms nor stopwords. */
  uncovered: number;
  reference: boolean;
  words: number;
  /** The classifier's log-odds that the message is about computing. */
  logit: number;
}

/** Log-odds past which the classifier alone decides a message without keywords either way. */
export const CLASSIFIER_ALLOW = 3;
export const CLASSIFIER_REJECT = -3;
/** A computing hint and this much agreement from the classifier: allowed. */
const HINT_ALLOW = 2.5;
/** An off-topic word and this much disagreement from the classifier: left to tier 2. */
const NON_CS_DOUBT = 2.5;
/** An off-topic word next to one computing hint: rejected only with the classifier this sure. */
const MIXED_REJECT = -3.5;

const allow = (reason: string): Tier1Result => ({ decision: "allow", reason });
const reject = (reason: string): Tier1Result => ({ decision: "reject", reason });
const uncertain = (reason: string): Tier1Result => ({ decision: "uncertain", reason });

function hintCount(a: Analysis): number {
  return a.ambiguous.length + a.weak.length + (a.task !== null ? 1 : 0);
}

export function decide(a: Analysis): Tier1Result {
  const z = a.logit;
  // 1. "ignore the topic rule", "this counts as programming": what is asked for decides.
  if (a.override !== null) {
    if (a.nonCs !== null || z < 0) return reject(`override:${a.override}`);
    if (a.cs !== null || a.code !== null) return allow(`cs_term:${a.cs ?? a.code}`);
    return uncertain(`override:${a.override}`);
  }
  // 2. A non-computing answer in a programming costume (JSON, a table, pseudocode).
  if (a.format !== null && a.nonCs !== null) {
    return z > CLASSIFIER_ALLOW ? uncertain(`mixed:${a.nonCs}`) : reject(`wrapper:${a.nonCs}`);
  }
  // 3. A computing term or code.
  if (a.cs !== null || a.code !== null) {
    const term = a.cs !== null ? `cs_term:${a.cs}` : a.code!;
    if (a.nonCs === null) return allow(term);
    // A real programming task about another subject stays on topic.
    if (a.task !== null && a.format === null && z > 0) return allow(`task:${a.task}`);
    return uncertain(`mixed:${a.nonCs}`);
  }
  const hints = hintCount(a);
  const halves = hints + (a.meta && hints > 0 ? 1 : 0);
  // 4. An everyday word without a computing term.
  if (a.nonCs !== null) {
    // "model a football league with classes": a programming task never ends at tier 1 as off topic.
    if (a.task !== null) return uncertain(`mixed:${a.nonCs}`);
    if (hints === 0) return z > NON_CS_DOUBT ? uncertain(`mixed:${a.nonCs}`) : reject(`non_cs:${a.nonCs}`);
    // Two-meaning words next to an everyday word take its sense ("java coffee beans"), unless the classifier disagrees.
    if (a.weak.length === 0) return z < 0 ? reject(`non_cs:${a.nonCs}`) : uncertain(`mixed:${a.nonCs}`);
    // Technology words around it ("my pizza ordering app returns 500"): only a classifier that agrees strongly rejects.
    if (a.weak.length >= 2) return uncertain(`mixed:${a.nonCs}`);
    return z <= MIXED_REJECT ? reject(`non_cs:${a.nonCs}`) : uncertain(`mixed:${a.nonCs}`);
  }
  // 5. Computing hints only (two-meaning words, general technology words).
  if (halves >= 2) {
    // Two-meaning words only ("tree branch", "apple tree") need the classifier's agreement.
    const onlyAmbiguous = a.weak.length === 0 && a.task === null;
    if (z < CLASSIFIER_REJECT || (onlyAmbiguous && z < HINT_ALLOW)) return uncertain(`ambiguous:${[...a.ambiguous, ...a.weak][0] ?? a.task}`);
    const shown = [...a.ambiguous, ...a.weak, ...(a.task !== null ? [a.task] : []), "lesson"].slice(0, 2);
    return allow(`cs_context:${shown.join("+")}`);
  }
  if (hints === 1) {
    if (z >= HINT_ALLOW) return allow("classifier:on");
    if (z <= CLASSIFIER_REJECT) return reject("classifier:off");
    if (a.ambiguous.length > 0) return uncertain(`ambiguous:${a.ambiguous[0]}`);
    return uncertain(`weak_cs:${a.weak[0] ?? a.task}`);
  }
  // 6. No topic words at all.
  if (a.words === 0) return allow("no_words"); // "?", "👍": a reaction to the lesson
  if (a.uncovered === 0 && (a.meta || a.ack)) return allow("lesson_meta");
  if (a.uncovered === 0 && a.greeting) return allow("greeting");
  if (a.uncovered >= 2) {
    if (z >= CLASSIFIER_ALLOW) return allow("classifier:on");
    if (z <= CLASSIFIER_REJECT) return reject("classifier:off");
  }
  return uncertain("no_signal");
}

/**
 * A message with no subject of its own ("why?", "and in Java?", "can you
 * show that again?"): the only kind the conversation's topic may settle.
 */
export function isTopicless(a: Analysis): boolean {
  if (a.nonCs !== null || a.override !== null || a.format !== null) return false;
  if (a.uncovered <= 1) return true;
  return (a.reference || hintCount(a) > 0) && a.uncovered <= 3 && a.logit > CLASSIFIER_REJECT;
}
