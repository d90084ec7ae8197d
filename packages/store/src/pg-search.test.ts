// The PostgreSQL search plan's estimate, on lexeme statistics shaped like pg_stats'.
import { describe, expect, it } from "vitest";
import { choosePlan, lexemeStats, matchFrequency } from "./pg-search.js";

const stats = lexemeStats(
  new Map([
    ["the", 0.72],
    ["function", 0.7],
    ["functional", 0.01],
    ["functor", 0.002],
    ["fun", 0.03],
    ["recursion", 0.05],
    ["term1zz", 0.0046],
  ]),
  0.0044,
);

describe("matchFrequency", () => {
  it("reads a listed word's frequency and counts an unlisted one at the list's floor", () => {
    expect(matchFrequency(stats, ["recursion", "x"])).toBeCloseTo(0.05 * 0.0044, 6); // a one-letter last word is whole: unlisted, floor
    expect(matchFrequency(stats, ["recursion", "the"])).toBeCloseTo(0.05 * (0.72 + 0.0044), 6);
    expect(matchFrequency(stats, ["memoization"])).toBeCloseTo(0.0044, 6);
  });

  it("sums the listed words a prefix begins, plus the floor, capped at every message", () => {
    expect(matchFrequency(stats, ["func"])).toBeCloseTo(0.7 + 0.01 + 0.002 + 0.0044, 6);
    expect(matchFrequency(stats, ["fun"])).toBeCloseTo(0.03 + 0.7 + 0.01 + 0.002 + 0.0044, 6);
    expect(matchFrequency(stats, ["functo"])).toBeCloseTo(0.002 + 0.0044, 6);
    expect(matchFrequency(stats, ["functional"])).toBeCloseTo(0.01 + 0.0044, 6);
    expect(matchFrequency(lexemeStats(new Map([["ab", 0.7], ["abc", 0.6]]), 0.1), ["ab"])).toBe(1);
  });

  it("takes the words as independent", () => {
    expect(matchFrequency(stats, ["the", "function", "recursion"])).toBeCloseTo(0.72 * 0.7 * (0.05 + 0.0044), 6);
  });
});

describe("choosePlan", () => {
  it("walks the newest messages first unless they are expected to hold fewer than `limit` hits", () => {
    expect(choosePlan(stats, ["memoization"], 20, 2_000)).toBe("index only"); // ~9 expected
    expect(choosePlan(stats, ["term1zz"], 20, 2_000)).toBe("index only"); // ~18
    expect(choosePlan(stats, ["recursion"], 20, 2_000)).toBe("recent first"); // ~100
    expect(choosePlan(stats, ["functional"], 20, 2_000)).toBe("recent first"); // ~29: found in the walk
    expect(choosePlan(stats, ["recursion", "functional"], 20, 2_000)).toBe("index only");
    expect(choosePlan(stats, ["memoization"], 5, 2_000)).toBe("recent first");
  });

  it("walks first when the database was never analyzed", () => {
    expect(choosePlan(null, ["memoization"], 20, 2_000)).toBe("recent first");
  });
});
