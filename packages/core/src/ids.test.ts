import { describe, expect, it } from "vitest";
import { newId } from "./ids.js";

describe("newId", () => {
  it("is a UUIDv7 carrying its millisecond", () => {
    const id = newId(Date.parse("2026-11-24T04:00:00.000Z"));
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(parseInt(id.replace(/-/g, "").slice(0, 12), 16)).toBe(Date.parse("2026-11-24T04:00:00.000Z"));
  });

  it("sorts in creation order even within one millisecond, and never repeats", () => {
    const now = Date.now() + 10_000;
    const ids = Array.from({ length: 20_000 }, () => newId(now));
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("keeps order when the clock steps back", () => {
    const a = newId(Date.now() + 20_000);
    const b = newId(Date.now());
    expect(b > a).toBe(true);
  });
});
