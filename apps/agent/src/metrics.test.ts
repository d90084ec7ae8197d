// The worker's /metrics sums what its job processes push: live figures while a
// room runs, counters and histograms kept after it ended, gauges dropped.
import { Counter, Gauge, Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { PUSH_ENV, WorkerMetrics, startMetricsPush } from "./metrics.js";

const open: WorkerMetrics[] = [];
afterEach(async () => {
  for (const m of open.splice(0)) await m.close();
});

function jobRegistry(turns: number, connections: number): Registry {
  const r = new Registry();
  new Counter({ name: "tutor_turns_total", help: "t", labelNames: ["status"], registers: [r] }).inc({ status: "answered" }, turns);
  new Gauge({ name: "tutor_ws_connections", help: "c", registers: [r] }).set(connections);
  new Counter({ name: "process_other_total", help: "not ours", registers: [r] }).inc(5);
  return r;
}

const value = (text: string, line: string) => Number(new RegExp(`^${line.replace(/[{}"]/g, "\\$&")} (\\S+)$`, "m").exec(text)?.[1] ?? NaN);

describe("agent worker /metrics", () => {
  it("serves rooms and the jobs' tutor_* figures, keeping counters of ended jobs", async () => {
    let rooms = 1;
    const m = new WorkerMetrics(() => rooms);
    open.push(m);
    const port = await m.listen("127.0.0.1", 0);
    const env = { [PUSH_ENV]: m.pushUrl("127.0.0.1", port) };
    const job = startMetricsPush(jobRegistry(3, 1), env);
    await job.final(); // the room ended
    const scrape = async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    let text = await scrape();
    expect(value(text, 'tutor_turns_total{status="answered"}')).toBe(3);
    expect(text).not.toMatch(/^tutor_ws_connections /m); // a gauge ends with its process
    expect(text).not.toMatch(/process_other_total/); // only tutor_* leaves a job
    expect(value(text, "tutor_agent_rooms")).toBe(1);
    // A second job's final figures add up.
    await startMetricsPush(jobRegistry(2, 1), env).final();
    rooms = 0;
    text = await scrape();
    expect(value(text, 'tutor_turns_total{status="answered"}')).toBe(5);
    expect(value(text, "tutor_agent_rooms")).toBe(0);
  });

  it("refuses pushes without the secret path or with a bad body", async () => {
    const m = new WorkerMetrics(() => 0);
    open.push(m);
    const port = await m.listen("127.0.0.1", 0);
    const post = (path: string, body: string) => fetch(`http://127.0.0.1:${port}${path}`, { method: "POST", body }).then((r) => r.status);
    expect(await post("/push/guess", "{}")).toBe(404);
    const secret = new URL(m.pushUrl("127.0.0.1", port)).pathname;
    expect(await post(secret, "not json")).toBe(400);
    expect(await post(secret, JSON.stringify({ pid: "x", metrics: [] }))).toBe(400);
    expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(200);
  });
});
