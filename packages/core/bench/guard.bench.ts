// Topic guard tier 1 on the labelled set (eval/dev.jsonl, the development
// part tuned on, and eval/heldout.jsonl, the held-back part never tuned on):
// decided share, accuracy on decided, computing questions rejected, and
// microseconds per message (with its history), one call at a time after a
// warm-up. Baseline in the same run: the obvious first version, one
// precompiled RegExp per vocabulary term tried list by list.
import { readFileSync } from "node:fs";
import type { BenchResult } from "../../../scripts/bench-types.js";
import { KeywordModel, DEFAULT_VOCABULARY, type Tier1Decision } from "../src/guard/keyword-model.js";
import { CLEAR_COMPUTING_FAMILIES, parseLabelled, type LabelledMessage } from "../src/guard/evaluate.js";
import { TopicGuard } from "../src/guard/index.js";

const BUDGET_MS = 2_000; // per method and part, after warm-up
const WARMUP_MS = 300;

/** The obvious first version: a RegExp per vocabulary term, tried list by list. */
class NaiveRegexClassifier {
  readonly #lists: [Tier1Decision | "meta", RegExp[]][];
  constructor() {
    const v = DEFAULT_VOCABULARY;
    const compile = (terms: readonly string[]) =>
      terms.map((t) => new RegExp(`(?<![\\w.])${t.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(?![\\w])`, "i"));
    this.#lists = [
      ["allow", compile(v.cs)],
      ["reject", compile(v.nonCs)],
      ["uncertain", compile([...v.ambiguous, ...v.weak])],
      ["meta", compile([...v.lessonMeta, ...v.acknowledgements, ...v.greetings])],
    ];
  }
  classify(text: string): Tier1Decision {
    for (const [decision, res] of this.#lists) {
      if (res.some((re) => re.test(text))) return decision === "meta" ? "allow" : decision;
    }
    return "uncertain";
  }
}

interface Stats {
  p50: number;
  p99: number;
  calls: number;
}

function measure(items: LabelledMessage[], fn: (m: LabelledMessage) => unknown): Stats {
  const warmEnd = performance.now() + WARMUP_MS;
  while (performance.now() < warmEnd) for (const m of items) fn(m);
  const samples: number[] = [];
  const end = performance.now() + BUDGET_MS;
  while (performance.now() < end) {
    for (const m of items) {
      const t0 = process.hrtime.bigint();
      fn(m);
      samples.push(Number(process.hrtime.bigint() - t0) / 1_000);
    }
  }
  samples.sort((a, b) => a - b);
  const at = (p: number) => samples[Math.min(samples.length - 1, Math.floor(samples.length * p))]!;
  return { p50: at(0.5), p99: at(0.99), calls: samples.length };
}

interface Quality {
  decided: number;
  correct: number;
  clearRejected: number;
  allowRejected: number;
  /** Uncertain allowed (no fast model): share right. */
  failOpen: number;
  /** Uncertain decided right by a perfect tier 2: the ceiling tier 1 leaves. */
  withOracle: number;
}

function quality(items: LabelledMessage[], decide: (m: LabelledMessage) => Tier1Decision): Quality {
  const q: Quality = { decided: 0, correct: 0, clearRejected: 0, allowRejected: 0, failOpen: 0, withOracle: 0 };
  for (const m of items) {
    const d = decide(m);
    if (d !== "uncertain") {
      q.decided++;
      if (d === m.label) q.correct++;
    }
    if (m.label === "allow" && d === "reject") {
      q.allowRejected++;
      if (CLEAR_COMPUTING_FAMILIES.has(m.family)) q.clearRejected++;
    }
    if ((d === "reject" ? "reject" : "allow") === m.label) q.failOpen++;
    if (d === "uncertain" || d === m.label) q.withOracle++;
  }
  return q;
}

const fmt = (us: number) => (us < 10 ? us.toFixed(2) : us < 100 ? us.toFixed(1) : us.toFixed(0));
const pct = (x: number, n: number) => (n === 0 ? "—" : `${((100 * x) / n).toFixed(1)}%`);

export default async function run(): Promise<BenchResult> {
  const read = (f: string) => parseLabelled(readFileSync(new URL(`../src/guard/eval/${f}`, import.meta.url), "utf8"));
  const parts: [string, LabelledMessage[]][] = [
    ["development", read("dev.jsonl")],
    ["held-back", read("heldout.jsonl")],
  ];
  let t0 = performance.now();
  const guard = new TopicGuard();
  const buildOurs = performance.now() - t0;
  t0 = performance.now();
  const naive = new NaiveRegexClassifier();
  const buildNaive = performance.now() - t0;
  const keywords = new KeywordModel();

  const rows: (string | number)[][] = [];
  for (const [name, items] of parts) {
    const ours = quality(items, (m) => guard.tier1(m.text, m.history).decision);
    const base = quality(items, (m) => naive.classify(m.text));
    const clf = quality(items, (m) => (keywords.logit(m.text) > 0 ? "allow" : "reject"));
    const oursT = measure(items, (m) => guard.tier1(m.text, m.history));
    const baseT = measure(items, (m) => naive.classify(m.text));
    const row = (label: string, q: Quality, s: Stats | null, build: number | null) => [
      name,
      label,
      items.length,
      pct(q.decided, items.length),
      pct(q.correct, q.decided),
      q.clearRejected,
      q.allowRejected,
      pct(q.failOpen, items.length),
      pct(q.withOracle, items.length),
      s ? fmt(s.p50) : "",
      s ? fmt(s.p99) : "",
      build === null ? "" : build.toFixed(1),
    ];
    rows.push(row("ours: keywords + classifier", ours, oursT, name === "development" ? buildOurs : null));
    rows.push(row("classifier alone (sign of log-odds)", clf, null, null));
    rows.push(row("baseline: one RegExp per term", base, baseT, name === "development" ? buildNaive : null));
  }
  // Worst case for time: long messages (the classifier reads 80 tokens, the keywords the first 2,000 characters).
  const story =
    "I am working through a course and we just covered sorting. My teacher said that merge sort is stable but " +
    "quicksort is not, and that this matters when sorting records by several keys, for example first by last " +
    "name and then by first name. Could you explain what stability means and show a small example? ";
  const long: LabelledMessage[] = [
    { text: story, label: "allow", family: "cs" },
    { text: story.repeat(9), label: "allow", family: "cs" },
    { text: "My grandmother's recipe for lemon cake needs butter, sugar, flour and eggs. ".repeat(50), label: "reject", family: "offtopic" },
  ];
  const longT = measure(long, (m) => guard.tier1(m.text, m.history));
  rows.push(["long (300–3,800 chars)", "ours: keywords + classifier", long.length, "", "", "", "", "", "", fmt(longT.p50), fmt(longT.p99), ""]);
  return {
    title: "Topic guard tier 1: decisions and µs per message on the labelled set",
    columns: [
      "part", "classifier", "messages", "decided", "accuracy on decided", "clear computing rejected", "allow-labelled rejected",
      "right, tier 1 + fail open", "right, tier 1 + perfect tier 2", "p50 µs", "p99 µs", "build ms",
    ],
    rows,
    notes: [
      "Parts: development (tuned on) and held-back (written before tuning, never tuned on); families and labels in packages/core/src/guard/eval/.",
      "Targets on the held-back part: decided >= 65%, accuracy on decided >= 97%, 0 clear computing questions (families cs, cs_gap, cs_math, prog_task) rejected, p50 <= 20 µs, p99 <= 100 µs.",
      "\"tier 1 + fail open\": uncertain allowed (no fast model). \"tier 1 + perfect tier 2\": uncertain decided right — the ceiling tier 1 leaves; a real fast model's share is measured with `npm run guard -- --eval FILE`.",
      `Each message timed alone with its history, ${WARMUP_MS} ms warm-up then ${BUDGET_MS / 1000} s per classifier and part. The baseline reads no history and has no classifier, wrapper, override or follow-up rules.`,
    ],
  };
}
