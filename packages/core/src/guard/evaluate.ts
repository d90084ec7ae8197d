// Scores the guard on a labelled JSON-lines set: {text, history?, label: allow|reject, family}.
// One implementation for the regression test, the benchmark and `npm run guard -- --eval`.
import type { ChatMessage } from "../ports.js";
import type { Tier1Decision } from "./keyword-model.js";

export interface LabelledMessage {
  text: string;
  history?: ChatMessage[];
  label: "allow" | "reject";
  family: string;
}

/** Families whose allow-labelled messages are plainly about computing: tier 1 must never reject one. */
export const CLEAR_COMPUTING_FAMILIES: ReadonlySet<string> = new Set(["cs", "cs_gap", "cs_math", "prog_task"]);

export class LabelledSetError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(`line ${line}: ${message}`);
    this.name = "LabelledSetError";
  }
}

function isMessage(m: unknown): m is ChatMessage {
  if (typeof m !== "object" || m === null) return false;
  const r = m as Record<string, unknown>;
  return (r.role === "user" || r.role === "assistant" || r.role === "system") && typeof r.content === "string";
}

/** Parses a labelled JSON-lines file; a malformed line throws with its number. Blank lines are skipped. */
export function parseLabelled(source: string): LabelledMessage[] {
  const out: LabelledMessage[] = [];
  const lines = source.split("\n");
  for (let k = 0; k < lines.length; k++) {
    const raw = lines[k]!.trim();
    if (raw === "") continue;
    let o: unknown;
    try {
      o = JSON.parse(raw);
    } catch (err) {
      throw new LabelledSetError(`invalid JSON: ${(err as Error).message}`, k + 1);
    }
    const r = (typeof o === "object" && o !== null ? o : {}) as Record<string, unknown>;
    if (typeof r.text !== "string" || r.text === "") throw new LabelledSetError("text must be a non-empty string", k + 1);
    if (r.label !== "allow" && r.label !== "reject") throw new LabelledSetError('label must be "allow" or "reject"', k + 1);
    if (r.history !== undefined && !(Array.isArray(r.history) && r.history.every(isMessage))) {
      throw new LabelledSetError("history must be a list of {role, content}", k + 1);
    }
    const family = typeof r.family === "string" && r.family !== "" ? r.family : "unlabelled";
    out.push({ text: r.text, label: r.label, family, ...(r.history ? { history: r.history as ChatMessage[] } : {}) });
  }
  return out;
}

export interface FamilyScore {
  family: string;
  n: number;
  /** [label][tier-1 decision] */
  allowAs: Record<Tier1Decision, number>;
  rejectAs: Record<Tier1Decision, number>;
  /** Final decision after tier 2, when one was measured. */
  finalCorrect: number;
}

export interface Score {
  n: number;
  decided: number;
  correctDecided: number;
  /** Allow-labelled messages of the clear computing families that tier 1 rejected. */
  clearComputingRejected: number;
  /** Every allow-labelled message tier 1 rejected. */
  allowRejected: number;
  /** Messages whose final (tier 1+2) decision matched the label; equals the tier-1 figure when tier 2 was not run. */
  finalCorrect: number;
  families: FamilyScore[];
  /** The messages tier 1 got wrong (decided against the label). */
  errors: { item: LabelledMessage; decision: Tier1Decision; reason: string }[];
}

const zero = (): Record<Tier1Decision, number> => ({ allow: 0, reject: 0, uncertain: 0 });

export interface Judged {
  tier1: { decision: Tier1Decision; reason: string };
  /** The final allow/reject (tier 1+2). Without tier 2, uncertain counts as allowed, as the guard does. */
  allowed: boolean;
}

export async function score(items: LabelledMessage[], judge: (m: LabelledMessage) => Judged | Promise<Judged>): Promise<Score> {
  const fam = new Map<string, FamilyScore>();
  const s: Score = { n: 0, decided: 0, correctDecided: 0, clearComputingRejected: 0, allowRejected: 0, finalCorrect: 0, families: [], errors: [] };
  for (const item of items) {
    const j = await judge(item);
    const d = j.tier1.decision;
    let f = fam.get(item.family);
    if (!f) fam.set(item.family, (f = { family: item.family, n: 0, allowAs: zero(), rejectAs: zero(), finalCorrect: 0 }));
    f.n++;
    s.n++;
    (item.label === "allow" ? f.allowAs : f.rejectAs)[d]++;
    if (d !== "uncertain") {
      s.decided++;
      if (d === item.label) s.correctDecided++;
      else s.errors.push({ item, decision: d, reason: j.tier1.reason });
    }
    if (item.label === "allow" && d === "reject") {
      s.allowRejected++;
      if (CLEAR_COMPUTING_FAMILIES.has(item.family)) s.clearComputingRejected++;
    }
    if (j.allowed === (item.label === "allow")) {
      s.finalCorrect++;
      f.finalCorrect++;
    }
  }
  s.families = [...fam.values()].sort((a, b) => a.family.localeCompare(b.family));
  return s;
}

export const decidedShare = (s: Score): number => (s.n === 0 ? 0 : s.decided / s.n);
export const decidedAccuracy = (s: Score): number => (s.decided === 0 ? 1 : s.correctDecided / s.decided);

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

/** A plain-text confusion table by family (label × tier-1 decision), plus the totals. */
export function formatScore(s: Score, opts: { tier2?: boolean } = {}): string {
  const head = ["family", "n", "allow→allow", "allow→uncertain", "allow→REJECT", "reject→reject", "reject→uncertain", "reject→ALLOW", "decided", "acc. decided"];
  if (opts.tier2) head.push("final correct (1+2)");
  const rows: string[][] = [head];
  const total: FamilyScore = { family: "all", n: 0, allowAs: zero(), rejectAs: zero(), finalCorrect: 0 };
  for (const f of [...s.families, total]) {
    if (f !== total) {
      total.n += f.n;
      total.finalCorrect += f.finalCorrect;
      for (const k of ["allow", "reject", "uncertain"] as const) {
        total.allowAs[k] += f.allowAs[k];
        total.rejectAs[k] += f.rejectAs[k];
      }
    }
    const decided = f.n - f.allowAs.uncertain - f.rejectAs.uncertain;
    const right = f.allowAs.allow + f.rejectAs.reject;
    const row = [
      f.family,
      String(f.n),
      String(f.allowAs.allow),
      String(f.allowAs.uncertain),
      String(f.allowAs.reject),
      String(f.rejectAs.reject),
      String(f.rejectAs.uncertain),
      String(f.rejectAs.allow),
      pct(f.n === 0 ? 0 : decided / f.n),
      decided === 0 ? "—" : pct(right / decided),
    ];
    if (opts.tier2) row.push(pct(f.n === 0 ? 0 : f.finalCorrect / f.n));
    rows.push(row);
  }
  const widths = head.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const lines = rows.map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join("  "));
  lines.splice(1, 0, widths.map((w) => "-".repeat(w)).join("  "));
  lines.splice(lines.length - 1, 0, widths.map((w) => "-".repeat(w)).join("  "));
  lines.push(
    "",
    `tier 1 decides ${pct(decidedShare(s))} of ${s.n} messages, ${pct(decidedAccuracy(s))} right on those; ` +
      `clear computing questions rejected: ${s.clearComputingRejected}; allow-labelled rejected: ${s.allowRejected}`,
  );
  if (opts.tier2) lines.push(`tier 1+2: ${pct(s.n === 0 ? 0 : s.finalCorrect / s.n)} of all messages decided right`);
  return lines.join("\n");
}
