// `npm run guard:train`: trains the tier-1 classifier and writes ../model.json.
// Logistic regression over the hashed features of features.ts, AdaGrad with
// L2, classes weighted to equal total weight, a seeded shuffle per epoch:
// the same inputs always give the same file. Exact duplicates of the
// evaluation messages (eval/*.jsonl) are dropped first, so no test text is
// ever trained on.
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { MODEL_VERSION, scaledSum, type ModelFile } from "../classifier.js";
import { FEATURE_BUCKETS, FEATURE_CAPACITY, featurize } from "../features.js";
import { tokenize } from "../tokenize.js";
import { buildCorpus, rng, type TrainingExample } from "./corpus.js";

const EPOCHS = 16;
const RATE = 0.4;
const L2 = 2e-6;
const SCALE = 10_000;
const PRUNE = 0.002;

function evalTexts(): Set<string> {
  const dir = new URL("../eval/", import.meta.url);
  const out = new Set<string>();
  for (const f of readdirSync(dir)) {
    if (!f.endsWith(".jsonl")) continue;
    for (const l of readFileSync(new URL(f, dir), "utf8").split("\n")) {
      if (l.trim() !== "") out.add(tokenize((JSON.parse(l) as { text: string }).text).toks.join(" "));
    }
  }
  return out;
}

export function train(examples: TrainingExample[]): { model: ModelFile; dropped: number } {
  const held = evalTexts();
  const seen = new Set<string>();
  const rows: { feats: Int32Array; y: number }[] = [];
  let dropped = 0;
  const buf = new Int32Array(FEATURE_CAPACITY);
  for (const ex of examples) {
    const toks = tokenize(ex.text).toks;
    const key = toks.join(" ");
    if (held.has(key)) {
      dropped++;
      continue;
    }
    if (seen.has(`${ex.label}|${key}`)) continue;
    seen.add(`${ex.label}|${key}`);
    const n = featurize(toks, buf);
    rows.push({ feats: buf.slice(0, n), y: ex.label === "allow" ? 1 : 0 });
  }
  const pos = rows.filter((r) => r.y === 1).length;
  const neg = rows.length - pos;
  const classWeight = [rows.length / (2 * neg), rows.length / (2 * pos)];

  const w = new Float64Array(FEATURE_BUCKETS);
  const g2 = new Float64Array(FEATURE_BUCKETS).fill(1e-8);
  let bias = 0;
  let biasG2 = 1e-8;
  const order = rows.map((_, k) => k);
  const r = rng(7);
  for (let epoch = 0; epoch < EPOCHS; epoch++) {
    for (let k = order.length - 1; k > 0; k--) {
      const j = Math.floor(r() * (k + 1));
      [order[k], order[j]] = [order[j]!, order[k]!];
    }
    for (const idx of order) {
      const { feats, y } = rows[idx]!;
      const z = bias + scaledSum(w, feats, feats.length);
      const p = 1 / (1 + Math.exp(-z));
      const g = (p - y) * classWeight[y]!;
      const v = feats.length === 0 ? 0 : 1 / Math.sqrt(feats.length);
      for (const f of feats) {
        const grad = g * v + L2 * w[f]!;
        g2[f]! += grad * grad;
        w[f]! -= (RATE * grad) / Math.sqrt(g2[f]!);
      }
      biasG2 += g * g;
      bias -= (RATE * g) / Math.sqrt(biasG2);
    }
  }
  let right = 0;
  for (const { feats, y } of rows) if (bias + scaledSum(w, feats, feats.length) > 0 === (y === 1)) right++;

  const idx: number[] = [];
  const ws: number[] = [];
  for (let f = 0; f < FEATURE_BUCKETS; f++) {
    if (Math.abs(w[f]!) >= PRUNE) {
      idx.push(f);
      ws.push(Math.round(w[f]! * SCALE));
    }
  }
  return {
    dropped,
    model: {
      version: MODEL_VERSION,
      buckets: FEATURE_BUCKETS,
      scale: SCALE,
      bias: Math.round(bias * SCALE),
      idx,
      w: ws,
      trained: {
        examples: rows.length,
        allow: pos,
        reject: neg,
        epochs: EPOCHS,
        l2: L2,
        trainAccuracy: Math.round((10_000 * right) / rows.length) / 10_000,
      },
    },
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { model, dropped } = train(buildCorpus());
  const out = fileURLToPath(new URL("../model.json", import.meta.url));
  // One array per line keeps the file diffable in size, if not in content.
  writeFileSync(out, `${JSON.stringify(model)}\n`);
  console.log(
    `trained on ${model.trained.examples} examples (${model.trained.allow} allow, ${model.trained.reject} reject; ` +
      `${dropped} dropped as duplicates of evaluation messages), training accuracy ${(100 * model.trained.trainAccuracy).toFixed(1)}%, ` +
      `${model.idx.length} non-zero weights -> ${out}`,
  );
}
