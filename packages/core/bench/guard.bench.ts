// Tier 1 of the topic guard: microseconds per question for our compiled
// keyword model against a naive classifier over the same vocabulary (one
// precompiled case-insensitive RegExp per term, tested in turn), on a few
// hundred varied questions, measured one call at a time after a warm-up.
import type { BenchResult } from "../../../scripts/bench-types.js";
import type { ChatMessage } from "../src/ports.js";
import { TopicGuard } from "../src/guard/index.js";
import { DEFAULT_VOCABULARY, type Tier1Decision } from "../src/guard/keyword-model.js";

const BUDGET_MS = 2_500; // per method, after warm-up
const WARMUP_MS = 400;

// ---------------------------------------------------------------- questions

function questions(): string[] {
  const cs = [
    "binary search", "a linked list", "big O notation", "quicksort", "a hash table", "recursion", "TCP vs UDP",
    "C++ templates", "C# delegates", "the .NET runtime", "node.js streams", "SQL joins", "virtual memory",
    "a race condition", "gradient descent", "git rebase", "Docker volumes", "two's complement", "Dijkstra's algorithm",
    "dynamic programming", "a red-black tree", "OAuth", "the event loop", "a mutex", "React hooks",
    "a B-tree index", "public key encryption", "a neural network", "the OSI model", "garbage collection",
    "a binary heap", "memoization", "CSS flexbox", "async/await", "the Linux kernel scheduler",
  ];
  const csTemplates = [
    (t: string) => `How does ${t} work?`,
    (t: string) => `Can you explain ${t} with an example?`,
    (t: string) => `What is the time complexity of ${t} and why?`,
    (t: string) => `I keep getting confused by ${t}. Could you walk me through it step by step, please?`,
  ];
  const off = [
    "What's a good lasagna recipe?", "Who won the football match last night?", "Is Taylor Swift dating anyone?",
    "What's my horoscope for this week? I'm a Virgo.", "I have a headache and a fever, what should I take?",
    "Can I sue my landlord for the broken heating?", "what's the weather tomorrow in Paris",
    "recommend a movie for tonight", "how do I get a girlfriend", "best hotels for a beach vacation in Spain",
  ];
  const ambiguous = [
    "tell me about python", "what is java", "what is a tree", "how much memory do I have", "what is shell",
    "what is a cookie", "what is spring", "how do I install python", "python snake venom", "java coffee beans",
    "how does python manage memory", "what is a class",
  ];
  const talk = [
    "hi", "hello!", "thanks a lot", "next chapter please", "can you repeat that?", "give me an exercise",
    "I don't understand the second step", "continue", "quiz me", "ok", "why is that faster?", "who wrote hamlet",
  ];
  const code = [
    "if (x > 1) { return y; }",
    "def greet(name):\n    print(name)\nwhy does this print None?",
    "What does `git stash pop` do?",
    "for (let i = 0; i < n; i++) { sum += a[i]; } // why is this slow?",
  ];
  const long =
    "I am working through a course and we just covered sorting. My teacher said that merge sort is stable but " +
    "quicksort is not, and that this matters when sorting records by several keys, for example first by last " +
    "name and then by first name. I tried it with a small list of students and could not see any difference. " +
    "Could you explain what stability means, show a small example where it changes the result, and tell me " +
    "which of the built-in sorts in common languages are stable?";
  const out: string[] = [];
  for (const t of cs) for (const tpl of csTemplates) out.push(tpl(t));
  for (let k = 0; k < 3; k++) out.push(...off, ...ambiguous, ...talk, ...code);
  for (let k = 0; k < 10; k++) out.push(long);
  return out;
}

const HISTORY: ChatMessage[] = [
  { role: "user", content: "What is quicksort?" },
  {
    role: "assistant",
    content:
      "Quicksort is a divide and conquer sorting algorithm. It picks a pivot, partitions the array so smaller " +
      "elements come first, and sorts both sides recursively. On average it runs in O(n log n) time.",
  },
  { role: "user", content: "and merge sort?" },
  { role: "assistant", content: "Merge sort splits the array in halves, sorts each half and merges them..." },
];

// ---------------------------------------------------------------- baseline

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

// ---------------------------------------------------------------- measuring

interface Stats {
  p50: number;
  p99: number;
  mean: number;
  calls: number;
}

function measure(qs: string[], fn: (q: string) => unknown): Stats {
  const warmEnd = performance.now() + WARMUP_MS;
  while (performance.now() < warmEnd) for (const q of qs) fn(q);
  const samples: number[] = [];
  const end = performance.now() + BUDGET_MS;
  while (performance.now() < end) {
    for (const q of qs) {
      const t0 = process.hrtime.bigint();
      fn(q);
      samples.push(Number(process.hrtime.bigint() - t0) / 1_000);
    }
  }
  samples.sort((a, b) => a - b);
  const at = (p: number) => samples[Math.min(samples.length - 1, Math.floor(samples.length * p))]!;
  return { p50: at(0.5), p99: at(0.99), mean: samples.reduce((a, b) => a + b, 0) / samples.length, calls: samples.length };
}

const fmt = (us: number) => (us < 10 ? us.toFixed(2) : us < 100 ? us.toFixed(1) : us.toFixed(0));

export default async function run(): Promise<BenchResult> {
  const qs = questions();

  let t0 = performance.now();
  const guard = new TopicGuard();
  const buildOurs = performance.now() - t0;
  t0 = performance.now();
  const naive = new NaiveRegexClassifier();
  const buildNaive = performance.now() - t0;

  const ours = measure(qs, (q) => guard.tier1(q));
  const oursHistory = measure(qs, (q) => guard.tier1(q, HISTORY));
  const base = measure(qs, (q) => naive.classify(q));

  const decisions = { allow: 0, reject: 0, uncertain: 0 };
  let agree = 0;
  for (const q of qs) {
    const d = guard.tier1(q).decision;
    decisions[d]++;
    if (naive.classify(q) === d) agree++;
  }

  const row = (name: string, s: Stats, build: number | null) => [
    name,
    fmt(s.p50),
    fmt(s.p99),
    fmt(s.mean),
    Math.round(1e6 / s.mean).toLocaleString("en-US"),
    build === null ? "" : build.toFixed(1),
  ];
  return {
    title: "Topic guard tier 1: µs per question",
    columns: ["classifier", "p50 µs", "p99 µs", "mean µs", "questions/s", "build ms"],
    rows: [
      row("ours: compiled keyword model", ours, buildOurs),
      row("ours, with a 4-message history", oursHistory, null),
      row("baseline: one RegExp per term", base, buildNaive),
    ],
    notes: [
      `${qs.length} questions (computing, code, off-topic, ambiguous, greetings and lesson talk, 10 of ~450 chars), ` +
        `each timed alone; ${WARMUP_MS} ms warm-up then ${BUDGET_MS / 1000} s per classifier (${ours.calls.toLocaleString("en-US")} calls for ours).`,
      `Our decisions on this set: ${decisions.allow} allow, ${decisions.reject} reject, ${decisions.uncertain} uncertain ` +
        `(uncertain ones go to the fast model). The baseline agrees on ${Math.round((100 * agree) / qs.length)}%; ` +
        "it has no plural, follow-up, code-signal or two-hint rules.",
      "Target: p50 <= 20 µs. History is only read when the question itself is uncertain.",
    ],
  };
}
