// The tier-1 linear classifier (logistic regression over hashed n-grams, see
// features.ts). Its weights are trained by `npm run guard:train` from the
// training set in train/ and shipped in model.json; here they are unpacked
// once into a dense array so a question costs one pass of array reads.
import { FEATURE_BUCKETS, FEATURE_CAPACITY, featurize } from "./features.js";
import shipped from "./model.json" with { type: "json" };

export interface ModelFile {
  /** Format version; bump when features.ts changes. */
  version: number;
  buckets: number;
  /** Fixed-point scale of `w` and `bias`. */
  scale: number;
  bias: number;
  /** Non-zero buckets, ascending, and their weights (times `scale`). */
  idx: number[];
  w: number[];
  /** How the file was made (for the README and the bench notes). */
  trained: { examples: number; allow: number; reject: number; epochs: number; l2: number; trainAccuracy: number };
}

export const MODEL_VERSION = 1;

export class LinearClassifier {
  readonly #w: Float32Array;
  readonly #bias: number;
  readonly #buf = new Int32Array(FEATURE_CAPACITY);
  readonly info: ModelFile["trained"];

  constructor(model: ModelFile = shipped as ModelFile) {
    if (model.version !== MODEL_VERSION || model.buckets !== FEATURE_BUCKETS || model.idx.length !== model.w.length) {
      throw new Error("guard model.json does not match features.ts: run `npm run guard:train`");
    }
    this.#w = new Float32Array(FEATURE_BUCKETS);
    for (let k = 0; k < model.idx.length; k++) this.#w[model.idx[k]!] = model.w[k]! / model.scale;
    this.#bias = model.bias / model.scale;
    this.info = model.trained;
  }

  /** Log-odds that the message is about computing (> 0: more likely on topic). */
  logit(toks: readonly string[]): number {
    const n = featurize(toks, this.#buf);
    if (n === 0) return this.#bias;
    let sum = 0;
    for (let k = 0; k < n; k++) sum += this.#w[this.#buf[k]!]!;
    return this.#bias + sum / Math.sqrt(n);
  }
}

/** Shared by the trainer: the same scaling of a feature sum as `logit`. */
export function scaledSum(weights: Float64Array | Float32Array, feats: Int32Array, n: number): number {
  if (n === 0) return 0;
  let sum = 0;
  for (let k = 0; k < n; k++) sum += weights[feats[k]!]!;
  return sum / Math.sqrt(n);
}
