// The labelled set as a regression guard: the targets, asserted on
// the development part (the held-back part is only reported, by the bench).
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { CLEAR_COMPUTING_FAMILIES, TopicGuard, decidedAccuracy, decidedShare, formatScore, parseLabelled, score } from "./index.js";

const read = (name: string) => parseLabelled(readFileSync(new URL(`./eval/${name}`, import.meta.url), "utf8"));
const FAMILIES = [
  "cs", "cs_gap", "cs_math", "prog_task", "followup_on", "followup_off", "wrapper", "override", "two_meaning",
  "science", "multilingual", "typo", "offtopic", "small_talk",
];

describe("labelled evaluation set", () => {
  const dev = read("dev.jsonl");
  const held = read("heldout.jsonl");

  it("has at least 500 messages over every family, both labels, with history where it matters", () => {
    expect(dev.length + held.length).toBeGreaterThanOrEqual(500);
    for (const part of [dev, held]) {
      expect(new Set(part.map((m) => m.family))).toEqual(new Set(FAMILIES));
      expect(part.some((m) => m.label === "reject") && part.some((m) => m.label === "allow")).toBe(true);
      for (const f of ["followup_on", "followup_off"]) expect(part.filter((m) => m.family === f).every((m) => (m.history?.length ?? 0) > 0)).toBe(true);
    }
    const texts = new Set(dev.map((m) => m.text.toLowerCase()));
    expect(held.filter((m) => texts.has(m.text.toLowerCase()))).toEqual([]);
  });

  it("development part: tier 1 decides >= 65% with >= 97% accuracy and rejects no clear computing question", async () => {
    const guard = new TopicGuard();
    const s = await score(dev, (m) => {
      const t = guard.tier1(m.text, m.history);
      return { tier1: t, allowed: t.decision !== "reject" };
    });
    const table = formatScore(s);
    expect(decidedShare(s), table).toBeGreaterThanOrEqual(0.65);
    expect(decidedAccuracy(s), table).toBeGreaterThanOrEqual(0.97);
    expect(s.errors.filter((e) => e.decision === "reject" && CLEAR_COMPUTING_FAMILIES.has(e.item.family)), table).toEqual([]);
  });
});
