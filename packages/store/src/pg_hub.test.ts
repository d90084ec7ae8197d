// The LISTEN/NOTIFY hub on a real PostgreSQL: events between two hubs (two
// instances), what bad input gets, and a `pg_ctl restart` under traffic.
import type { HubEvent } from "@tutor/core";
import { pgAvailable, startPostgres, type PgHandle } from "@tutor/testkit";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HUB_CHANNEL, PgEventHub, isHubEvent, type HubDropReason, type HubObserver } from "./pg-hub.js";
import { createStore } from "./index.js";

const requirePg = process.env.REQUIRE_SERVICES === "1";
const run = pgAvailable() || requirePg;

/** What a hub reported to its observer. */
interface Counts {
  dropped: HubDropReason[];
  unrouted: number;
  states: string[];
  lags: number[];
}
const counts = (): Counts => ({ dropped: [], unrouted: 0, states: [], lags: [] });
function observer(c: Counts): HubObserver {
  return {
    received: (_kind, lag) => void c.lags.push(lag),
    unrouted: () => void c.unrouted++,
    connection: (s) => void c.states.push(s),
    dropped: (r) => void c.dropped.push(r),
  };
}

/** A real event of the core's union; `n` rides in the conversation id so order can be checked. */
const ev = (n: number, userId = "u1"): HubEvent => ({ kind: "conversation_updated", userId, conversationId: `c${n}`, origin: "conn-a" });
const num = (e: HubEvent) => Number((e as { conversationId: string }).conversationId.slice(1));

async function until(pred: () => boolean, ms = 5_000, what = "condition"): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function rawNotify(url: string, payloads: string[]): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    for (const p of payloads) await c.query("select pg_notify($1, $2)", [HUB_CHANNEL, p]);
  } finally {
    await c.end();
  }
}

describe.runIf(run)("PgEventHub (PostgreSQL LISTEN/NOTIFY)", () => {
  let db: PgHandle;
  let a: PgEventHub;
  let b: PgEventHub;
  const ca = counts();
  const cb = counts();

  beforeAll(async () => {
    if (!pgAvailable()) throw new Error("REQUIRE_SERVICES=1 but PostgreSQL is not available (no initdb/pg_ctl and no TEST_DATABASE_URL)");
    db = await startPostgres();
    a = new PgEventHub({ url: db.url, observer: observer(ca), reconnectMs: { min: 100, max: 1_000 } });
    b = new PgEventHub({ url: db.url, observer: observer(cb), reconnectMs: { min: 100, max: 1_000 } });
    await Promise.all([a.start(), b.start()]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await db?.stop();
  });

  it("carries an event to the user's listeners on the other instance, once, and at once to local ones", async () => {
    const onA: unknown[] = [];
    const onB: unknown[] = [];
    const other: unknown[] = [];
    const offA = a.subscribe("u1", (e) => onA.push(e));
    const offB = b.subscribe("u1", (e) => onB.push(e));
    const offOther = b.subscribe("u2", (e) => other.push(e));
    a.publish("u1", ev(1, "u1"));
    // Local delivery is synchronous: no round trip through PostgreSQL.
    expect(onA).toEqual([ev(1)]);
    await until(() => onB.length === 1, 5_000, "the event on B");
    await new Promise((r) => setTimeout(r, 200));
    expect(onB).toEqual([ev(1)]);
    expect(onA).toEqual([ev(1)]); // its own NOTIFY coming back is skipped
    expect(other).toEqual([]); // never to another user
    offA();
    offB();
    offOther();
  });

  it("keeps order between two instances and counts lag", async () => {
    const got: number[] = [];
    const off = b.subscribe("u-order", (e) => got.push(num(e)));
    for (let i = 0; i < 200; i++) a.publish("u-order", ev(i, "u-order"));
    await until(() => got.length === 200, 10_000, "200 events");
    expect(got).toEqual([...Array(200).keys()]);
    expect(cb.lags.length).toBeGreaterThan(0);
    off();
  });

  it("events for users with no connection here are dropped quietly (counted, not delivered)", async () => {
    const before = cb.unrouted;
    const off = b.subscribe("someone-else", () => expect.fail("delivered to the wrong user"));
    a.publish("nobody-here", ev(7, "nobody-here"));
    await until(() => cb.unrouted === before + 1, 5_000, "unrouted count");
    off();
  });

  it("a payload that does not parse is logged and counted; the hub keeps delivering", async () => {
    const got: unknown[] = [];
    const off = b.subscribe("u-bad", (e) => got.push(e));
    const before = cb.dropped.filter((r) => r === "bad_payload").length;
    await rawNotify(db.url, [
      "not json",
      "{}",
      JSON.stringify({ i: "x", t: Date.now(), u: "u-bad" }), // no event
      JSON.stringify({ i: "x", t: "yesterday", u: "u-bad", e: {} }),
      JSON.stringify({ i: "x", t: Date.now(), u: "", e: {} }),
      JSON.stringify([1, 2, 3]),
      JSON.stringify({ i: "x", t: Date.now(), u: "u-bad", e: { kind: "rm_rf", userId: "u-bad" } }), // unknown kind
      JSON.stringify({ i: "x", t: Date.now(), u: "u-bad", e: { kind: "session_ended", userId: "u-bad", reason: "because" } }),
      // Routed to u-bad but naming another user: never delivered.
      JSON.stringify({ i: "x", t: Date.now(), u: "u-bad", e: { kind: "session_ended", userId: "victim", reason: "logout" } }),
    ]);
    a.publish("u-bad", ev(9, "u-bad"));
    await until(() => got.length === 1, 5_000, "the good event after the bad ones");
    expect(got).toEqual([ev(9, "u-bad")]);
    expect(cb.dropped.filter((r) => r === "bad_payload").length - before).toBe(9);
    off();
  });

  it("an event over the NOTIFY limit reaches local listeners, is counted, and is not sent", async () => {
    const local: unknown[] = [];
    const remote: unknown[] = [];
    const offA = a.subscribe("u-big", (e) => local.push(e));
    const offB = b.subscribe("u-big", (e) => remote.push(e));
    const big: HubEvent = { kind: "conversation_updated", userId: "u-big", conversationId: "c1", origin: "x".repeat(9000) };
    a.publish("u-big", big);
    a.publish("u-big", ev(1, "u-big"));
    await until(() => remote.length === 1, 5_000, "the small event");
    expect(local).toHaveLength(2);
    expect(remote).toEqual([ev(1, "u-big")]);
    expect(ca.dropped).toContain("too_large");
    offA();
    offB();
  });

  it("survives a NOTIFY storm from outside without delaying the store's queries", async () => {
    const store = await createStore({ databaseUrl: db.url, dataDir: "/nonexistent" });
    try {
      const storm = Array.from({ length: 3000 }, (_, i) => JSON.stringify({ i: "storm", t: Date.now(), u: `u${i}`, e: ev(i, `u${i}`) }));
      const badStorm = Array.from({ length: 1000 }, () => "garbage");
      const before = cb.unrouted;
      const stormDone = Promise.all([rawNotify(db.url, storm), rawNotify(db.url, badStorm)]);
      // The pool is not the hub's connection: queries go on during the storm.
      await store.ping();
      await stormDone;
      await until(() => cb.unrouted - before === 3000, 20_000, "3000 unrouted events");
      const got: unknown[] = [];
      const off = b.subscribe("after-storm", (e) => got.push(e));
      a.publish("after-storm", ev(1, "after-storm"));
      await until(() => got.length === 1, 5_000, "an event after the storm");
      off();
    } finally {
      await store.close();
    }
  });

  it("pg_ctl restart under traffic: both hubs reconnect, resync fires, events flow again, nothing crashes", async () => {
    if (!db.restart) return expect.fail("needs the private cluster (TEST_DATABASE_URL cannot be restarted)");
    const resyncA: number[] = [];
    const resyncB: number[] = [];
    const offRa = a.onResync(() => resyncA.push(Date.now()));
    const offRb = b.onResync(() => resyncB.push(Date.now()));
    const got: number[] = [];
    const off = b.subscribe("u-restart", (e) => got.push(num(e)));
    let n = 0;
    const traffic = setInterval(() => a.publish("u-restart", ev(n++, "u-restart")), 5);
    try {
      await until(() => got.length > 5, 5_000, "traffic before the restart");
      await db.restart();
      await until(() => resyncA.length === 1 && resyncB.length === 1, 20_000, "both hubs resynced");
      expect(a.status().connected && b.status().connected).toBe(true);
      const at = n;
      await until(() => got.some((x) => x >= at), 10_000, "events published after the restart");
      expect(cb.states).toContain("disconnected");
      expect(cb.states.at(-1)).toBe("connected");
    } finally {
      clearInterval(traffic);
      off();
      offRa();
      offRb();
    }
  }, 60_000);
});

describe("isHubEvent", () => {
  it("accepts an import's event from another instance and refuses a malformed one", () => {
    expect(isHubEvent({ kind: "conversations_imported", userId: "u1", count: 3, origin: "rest:1" })).toBe(true);
    expect(isHubEvent({ kind: "conversations_imported", userId: "u1", count: "3", origin: "rest:1" })).toBe(false);
    expect(isHubEvent({ kind: "conversations_imported", userId: "u1", count: 3 })).toBe(false);
  });
});
