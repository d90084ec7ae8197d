// The running-turn slots over one shared Limiter, as two server instances
// see them: a long answer keeps its slot past the lease, and the slot of an
// instance that died lapses on its own while the student's other turn runs on.
import { describe, expect, it } from "vitest";
import { RateLimitedError } from "../errors.js";
import { MemoryLimiter, type Limiter } from "./limiter.js";
import { Limits, type TurnPermit } from "./policy.js";

const LEASE_MS = 300;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One instance's view of the shared counters; `die()` is kill -9: nothing it sends arrives any more. */
function instance(shared: Limiter) {
  let dead = false;
  const never = new Promise<never>(() => undefined);
  const limiter = new Proxy(shared, {
    get(target, prop: keyof Limiter) {
      const fn = target[prop] as (...a: unknown[]) => Promise<unknown>;
      return (...args: unknown[]) => (dead ? never : fn.apply(target, args));
    },
  });
  return { limits: new Limits(limiter, { turnLeaseMs: LEASE_MS }), die: () => (dead = true) };
}

async function refusal(limits: Limits, userId: string): Promise<RateLimitedError> {
  try {
    const p = await limits.admitTurn(userId);
    await p.end();
  } catch (err) {
    if (err instanceof RateLimitedError) return err;
    throw err;
  }
  throw new Error("the turn was admitted");
}

describe("running-turn slots shared by instances", () => {
  it("an answer running longer than the lease keeps its slot (renewed), and gives it back when it ends", async () => {
    const shared = new MemoryLimiter();
    const a = instance(shared);
    const b = instance(shared);
    const held: TurnPermit[] = [await a.limits.admitTurn("u1"), await b.limits.admitTurn("u1")];
    await sleep(LEASE_MS * 3);
    expect((await refusal(b.limits, "u1")).limit).toBe("turns_running");
    await held[0]!.end();
    const next = await b.limits.admitTurn("u1");
    await Promise.all([next.end(), held[1]!.end()]);
  });

  it("the slot of an instance that died mid-answer lapses after the lease while the other instance's turn keeps its own", async () => {
    const shared = new MemoryLimiter();
    const victim = instance(shared);
    const survivor = instance(shared);
    await victim.limits.admitTurn("u2");
    const running = await survivor.limits.admitTurn("u2");
    expect((await refusal(survivor.limits, "u2")).limit).toBe("turns_running");
    victim.die();
    await sleep(LEASE_MS * 1.5);
    // The dead instance's slot is free again; the survivor's running turn still holds the other.
    const again = await survivor.limits.admitTurn("u2");
    expect((await refusal(survivor.limits, "u2")).limit).toBe("turns_running");
    await Promise.all([again.end(), running.end()]);
  });

  it("slots are per user", async () => {
    const a = instance(new MemoryLimiter());
    const held = [await a.limits.admitTurn("u3"), await a.limits.admitTurn("u3")];
    const other = await a.limits.admitTurn("u4");
    await Promise.all([...held, other].map((p) => p.end()));
  });
});
