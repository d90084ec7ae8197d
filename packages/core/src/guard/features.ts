// Features of the tier-1 linear classifier: hashed word unigrams, word
// bigrams and character 3- and 4-grams of each word (with word-boundary
// marks, so "recursion", "recursividad" and "recurshun" share most of them).
// The trainer and the guard use this one function, so the shipped weights
// always match what is computed at run time. No substrings are allocated:
// hashes are computed over the token's characters in place.

/** Number of hash buckets (a power of two); the weights file is sparse over them. */
export const FEATURE_BUCKETS = 1 << 18;
const MASK = FEATURE_BUCKETS - 1;

/** Only the opening of a long message is featurized (its nature shows early; keeps p99 low). */
export const MAX_FEATURE_TOKENS = 80;
const MAX_NGRAM_WORD = 24;

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const BOUNDARY = 0x2; // stands for the start or end of a word in character n-grams

const SEED_WORD = 0x1000193;
const SEED_BIGRAM = 0x2000193;
const SEED_NGRAM3 = 0x3000193;
const SEED_NGRAM4 = 0x4000193;

function mix(h: number, c: number): number {
  return Math.imul(h ^ c, FNV_PRIME);
}

function wordHash(tok: string): number {
  let h = FNV_OFFSET ^ SEED_WORD;
  for (let k = 0; k < tok.length; k++) h = mix(h, tok.charCodeAt(k));
  return h >>> 0;
}

/** Character code at position k of the word padded with a boundary on each side. */
function padded(tok: string, k: number): number {
  return k === 0 || k === tok.length + 1 ? BOUNDARY : tok.charCodeAt(k - 1);
}

/**
 * Writes the bucket of every feature of `toks` into `out` (reused between
 * calls) and returns how many were written. Duplicates are kept: a repeated
 * feature counts twice.
 */
export function featurize(toks: readonly string[], out: Int32Array): number {
  let n = 0;
  const cap = out.length;
  const words = Math.min(toks.length, MAX_FEATURE_TOKENS);
  let prev = 0;
  for (let i = 0; i < words && n < cap; i++) {
    const tok = toks[i]!;
    const wh = wordHash(tok);
    out[n++] = wh & MASK;
    if (i > 0 && n < cap) out[n++] = (Math.imul(prev ^ SEED_BIGRAM, FNV_PRIME) ^ wh) & MASK;
    prev = wh;
    const len = tok.length;
    if (len > MAX_NGRAM_WORD) continue;
    // padded length len + 2; 3-grams and 4-grams over it
    for (let s = 0; s + 3 <= len + 2 && n < cap; s++) {
      let h = FNV_OFFSET ^ SEED_NGRAM3;
      h = mix(h, padded(tok, s));
      h = mix(h, padded(tok, s + 1));
      h = mix(h, padded(tok, s + 2));
      out[n++] = (h >>> 0) & MASK;
      if (s + 4 <= len + 2 && n < cap) {
        let h4 = FNV_OFFSET ^ SEED_NGRAM4;
        h4 = mix(h4, padded(tok, s));
        h4 = mix(h4, padded(tok, s + 1));
        h4 = mix(h4, padded(tok, s + 2));
        h4 = mix(h4, padded(tok, s + 3));
        out[n++] = (h4 >>> 0) & MASK;
      }
    }
  }
  return n;
}

/** Enough room for MAX_FEATURE_TOKENS words of MAX_NGRAM_WORD characters. */
export const FEATURE_CAPACITY = MAX_FEATURE_TOKENS * (2 + 2 * (MAX_NGRAM_WORD + 1));
