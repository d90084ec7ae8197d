import { createOpenAIChatModel } from "@tutor/llm";
import { behave, startFakeLlm, type FakeLlm } from "@tutor/testkit";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { isAbortError } from "../errors.js";
import type { ChatMessage, Logger } from "../ports.js";
import { TIER2_SYSTEM, TopicGuard, parseTier2Answer } from "./index.js";

const MODEL = "fast-model";
const UNCERTAIN = "tell me about python"; // tier 1: ambiguous, so tier 2 decides

function recordingLogger(lines: { level: string; obj: Record<string, unknown> }[]): Logger {
  const log = (level: string) => (obj: object) => void lines.push({ level, obj: obj as Record<string, unknown> });
  const logger: Logger = { debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error"), child: () => logger };
  return logger;
}

describe("topic guard tier 2 (fast model over HTTP)", () => {
  let llm: FakeLlm;
  let guard: TopicGuard;

  beforeAll(async () => {
    llm = await startFakeLlm({ models: [MODEL] });
  });
  afterAll(async () => {
    await llm.close();
  });
  beforeEach(() => {
    llm.reset();
    guard = new TopicGuard({ fast: createOpenAIChatModel({ baseURL: llm.url, apiKey: "test", model: MODEL }), timeoutMs: 1_000 });
  });

  it("allows an uncertain question when the model says YES", async () => {
    llm.script(MODEL, behave.reply("YES"));
    expect(await guard.check(UNCERTAIN, [])).toEqual({ allowed: true, tier: 2, reason: "tier2_yes", decision: "allow" });
    expect(llm.calls(MODEL)).toBe(1);
  });

  it("reports its model call's cost: the usage the model reports, else its characters", async () => {
    const seen: unknown[] = [];
    const meter = { usage: (u: unknown) => void seen.push(u), characters: (p: number, c: number) => void seen.push({ p, c }) };
    llm.script(MODEL, [behave.reply("YES", { usage: { prompt_tokens: 321, completion_tokens: 1 } }), behave.reply("NO", { usage: false })]);
    await guard.check(UNCERTAIN, [], undefined, meter);
    expect(seen).toEqual([{ promptTokens: 321, completionTokens: 1 }]);
    await guard.check(UNCERTAIN, [], undefined, meter);
    const sent = llm.requests.at(-1)!.messages.reduce((n, m) => n + m.content.length, 0);
    expect(seen[1]).toEqual({ p: sent, c: 2 });
    // Decided by tier 1: no model call, nothing to count.
    await guard.check("How does a hash table handle collisions in Python dictionaries?", [], undefined, meter);
    expect(seen).toHaveLength(2);
  });

  it("rejects an uncertain question when the model says NO (tolerating case and punctuation)", async () => {
    llm.script(MODEL, behave.reply(" no."));
    expect(await guard.check("what is spring", [])).toEqual({ allowed: false, tier: 2, reason: "tier2_no", decision: "reject" });
  });

  it("asks with max_tokens 5, temperature 0.1, the question and exactly the last 4 messages", async () => {
    llm.script(MODEL, behave.reply("Yes"));
    const history: ChatMessage[] = [
      { role: "user", content: "m1 oldest question" },
      { role: "assistant", content: "m2 oldest answer" },
      { role: "user", content: "m3 tell me about snakes" },
      { role: "assistant", content: "m4 snakes answer" },
      { role: "user", content: "m5 and pythons" },
      { role: "assistant", content: "m6 pythons answer" },
    ];
    await guard.check(UNCERTAIN, history);
    const req = llm.requests.at(-1)!;
    expect(req.params.max_tokens).toBe(5);
    expect(req.params.temperature).toBe(0.1);
    expect(req.stream).toBe(false);
    const sent = req.messages.map((m) => m.content).join("\n");
    expect(sent).toContain(UNCERTAIN);
    expect(sent).toMatch(/YES or NO/);
    for (const m of ["m3", "m4", "m5", "m6"]) expect(sent).toContain(m);
    for (const m of ["m1", "m2"]) expect(sent).not.toContain(m);
  });

  it("states the hard families with examples in the system prompt and sends history as a transcript", async () => {
    llm.script(MODEL, behave.reply("NO"));
    await guard.check(UNCERTAIN, [
      { role: "user", content: "what is a list comprehension" },
      { role: "assistant", content: "A compact way to build a list." },
    ]);
    const req = llm.requests.at(-1)!;
    expect(req.messages[0]).toEqual({ role: "system", content: TIER2_SYSTEM });
    for (const family of [/own subject decides/, /no subject of its own/, /JSON, a table, a code\s+comment, pseudocode/, /real programming task/, /counts as programming/, /two meanings/, /Chemistry, biology, physics/, /any language or have typos/]) {
      expect(TIER2_SYSTEM).toMatch(family);
    }
    expect(req.messages[1]!.content).toMatch(/Student: what is a list comprehension\n\nTutor: A compact way/);
  });

  it("parses the answer strictly: only a lone YES or NO counts", () => {
    expect(parseTier2Answer("NO")).toBe("NO");
    expect(parseTier2Answer(" no.")).toBe("NO");
    expect(parseTier2Answer("Yes!")).toBe("YES");
    for (const a of ["No, it is about cooking", "NO YES", "Not sure", "N/A", "", "nope", "YES, but"]) expect(parseTier2Answer(a)).toBeNull();
  });

  it("allows when the model hedges (\"No, but...\" is not a clear NO)", async () => {
    llm.script(MODEL, behave.reply("No, but it is"));
    expect(await guard.check(UNCERTAIN, [])).toMatchObject({ allowed: true, reason: "tier2_failed_open" });
  });

  it("does not call the model when keywords decide", async () => {
    expect((await guard.check("How does binary search work?", [])).reason).toBe("cs_term:binary search");
    expect((await guard.check("best lasagna recipe", [])).decision).toBe("reject");
    expect((await guard.check("thanks!", [])).tier).toBe(1);
    expect(llm.calls(MODEL)).toBe(0);
  });

  it("fails open when the server errors", async () => {
    llm.script(MODEL, behave.error(500, { message: "boom" }));
    expect(await guard.check(UNCERTAIN, [])).toEqual({ allowed: true, tier: 2, reason: "tier2_failed_open", decision: "allow" });
  });

  it("fails open on a malformed body or an answer that is neither YES nor NO", async () => {
    llm.script(MODEL, [behave.malformed(), behave.reply("Maybe, it depends"), behave.reply("NOT SURE")]);
    for (let k = 0; k < 3; k++) expect((await guard.check(UNCERTAIN, [])).reason).toBe("tier2_failed_open");
    expect(llm.calls(MODEL)).toBe(3);
  });

  it("fails open when the server stalls past the timeout, and hangs up on it", async () => {
    llm.script(MODEL, behave.hang());
    const started = Date.now();
    const decision = await guard.check(UNCERTAIN, []);
    expect(decision).toEqual({ allowed: true, tier: 2, reason: "tier2_failed_open", decision: "allow" });
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(await llm.requests.at(-1)!.settled).toBe("client_closed");
  });

  it("fails open when the server is gone", async () => {
    const gone = await startFakeLlm();
    const url = gone.url;
    await gone.close();
    const g = new TopicGuard({ fast: createOpenAIChatModel({ baseURL: url, model: MODEL }), timeoutMs: 1_000 });
    expect((await g.check(UNCERTAIN, [])).reason).toBe("tier2_failed_open");
  });

  it("gives up (throws) instead of deciding when the caller cancels the turn", async () => {
    llm.script(MODEL, behave.hang());
    const ac = new AbortController();
    const pending = guard.check(UNCERTAIN, [], ac.signal);
    setTimeout(() => ac.abort(), 50);
    await expect(pending).rejects.toSatisfy(isAbortError);
    expect(await llm.requests.at(-1)!.settled).toBe("client_closed");
  });

  it("allows uncertain questions without a fast model (fail open, tier 1)", async () => {
    const g = new TopicGuard();
    expect(await g.check(UNCERTAIN, [])).toEqual({ allowed: true, tier: 1, reason: "no_fast_model", decision: "allow" });
    expect(await new TopicGuard({ fast: null }).check("best lasagna recipe", [])).toMatchObject({ allowed: false, tier: 1 });
  });

  it("logs each decision with tier, reason and outcome but not the question", async () => {
    const lines: { level: string; obj: Record<string, unknown> }[] = [];
    const g = new TopicGuard({
      fast: createOpenAIChatModel({ baseURL: llm.url, model: MODEL }),
      logger: recordingLogger(lines),
      timeoutMs: 1_000,
    });
    llm.script(MODEL, [behave.reply("NO"), behave.error(503)]);
    await g.check(UNCERTAIN, []);
    await g.check("what is a tree", []);
    await g.check("What is a linked list?", []);
    const decisions = lines.filter((l) => l.obj.event === "topic_decision").map((l) => l.obj);
    expect(decisions).toEqual([
      { event: "topic_decision", tier: 2, reason: "tier2_no", allowed: false, tier1_reason: "ambiguous:python" },
      { event: "topic_decision", tier: 2, reason: "tier2_failed_open", allowed: true, tier1_reason: "ambiguous:tree" },
      { event: "topic_decision", tier: 1, reason: "cs_term:linked list", allowed: true, tier1_reason: "cs_term:linked list" },
    ]);
    expect(lines.some((l) => l.level === "warn")).toBe(true);
    expect(JSON.stringify(lines)).not.toContain("tell me about python");
  });
});
