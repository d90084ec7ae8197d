import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { behave, startFakeLlm, type FakeLlm } from "@tutor/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../../../..");
const SCRIPT = join(ROOT, "apps/server/src/cli/guard.ts");
const TSX = join(ROOT, "node_modules/.bin/tsx");

interface Run {
  code: number | null;
  out: Record<string, unknown>[];
  stderr: string;
}

function runRaw(cmd: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv }): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolvePromise({ code, stdout, stderr }));
  });
}

function run(cmd: string, args: string[], input: string[], opts: { cwd: string; env: NodeJS.ProcessEnv }): Promise<Run> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => {
      const out = stdout
        .split("\n")
        .filter((l) => l.trim() !== "")
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      resolvePromise({ code, out, stderr });
    });
    child.stdin.end(input.map((l) => `${l}\n`).join(""));
  });
}

// Only what the tool needs: no GROQ_API_KEY or LLM_* leaking in from the caller.
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? tmpdir(), LOG_LEVEL: "warn", ...extra };
}

const line = (text: string, history?: { role: string; content: string }[]) => JSON.stringify(history ? { history, text } : { text });

describe("npm run guard (operator CLI)", () => {
  let llm: FakeLlm;
  let emptyDir: string;

  beforeAll(async () => {
    llm = await startFakeLlm({ models: ["tutor-model", "fast-model"] });
    // a working directory without .env.local, so only the env we pass counts
    emptyDir = await mkdtemp(join(tmpdir(), "guard-cli-"));
  });
  afterAll(async () => {
    await llm.close();
    await rm(emptyDir, { recursive: true, force: true });
  });

  it("--tier1-only: one JSON line per input, in order; bad lines get an error with their number and the rest continue", async () => {
    const res = await run(
      "npx",
      ["tsx", "apps/server/src/cli/guard.ts", "--tier1-only"],
      [
        line("How does binary search work?"),
        "{not json",
        line("why is that faster?", [
          { role: "user", content: "what is quicksort?" },
          { role: "assistant", content: "Quicksort is a divide and conquer sorting algorithm." },
        ]),
        "",
        JSON.stringify({ text: "" }),
        line("tell me about python"),
        JSON.stringify({ text: "hi", history: [{ role: "robot", content: "x" }] }),
        line("best lasagna recipe"),
      ],
      { cwd: ROOT, env: cleanEnv() },
    );
    expect(res.code).toBe(0);
    expect(res.out).toEqual([
      { decision: "allow", allowed: true, tier: 1, reason: "cs_term:binary search" },
      { error: expect.stringContaining("invalid JSON"), line: 2 },
      { decision: "allow", allowed: true, tier: 1, reason: "followup" },
      { error: expect.stringContaining("text"), line: 5 },
      { decision: "uncertain", allowed: true, tier: 1, reason: "ambiguous:python" },
      { error: expect.stringContaining("history.0.role"), line: 7 },
      { decision: "reject", allowed: false, tier: 1, reason: "non_cs:lasagna" },
    ]);
  });

  it("asks the configured fast model about uncertain questions only", async () => {
    llm.reset();
    llm.script("fast-model", [behave.reply("YES"), behave.reply("NO")]);
    const res = await run(
      TSX,
      [SCRIPT],
      [line("tell me about python"), line("What is a linked list?"), line("what is spring")],
      { cwd: emptyDir, env: cleanEnv({ LLM_BASE_URL: llm.url, LLM_MODELS: "tutor-model,fast-model" }) },
    );
    expect(res.code).toBe(0);
    expect(res.out).toEqual([
      { decision: "allow", allowed: true, tier: 2, reason: "tier2_yes" },
      { decision: "allow", allowed: true, tier: 1, reason: "cs_term:linked list" },
      { decision: "reject", allowed: false, tier: 2, reason: "tier2_no" },
    ]);
    expect(llm.calls("fast-model")).toBe(2);
    expect(llm.calls("tutor-model")).toBe(0);
    expect(llm.requests.every((r) => r.params.max_tokens === 5)).toBe(true);
  });

  it("without a configured model, allows uncertain questions and says why on stderr", async () => {
    const res = await run(TSX, [SCRIPT], [line("what is a tree")], { cwd: emptyDir, env: cleanEnv() });
    expect(res.code).toBe(0);
    expect(res.out).toEqual([{ decision: "allow", allowed: true, tier: 1, reason: "no_fast_model" }]);
    expect(res.stderr).toMatch(/no language model configured/);
  });

  it("refuses bad configuration and unknown arguments with exit code 2", async () => {
    const badConfig = await run(TSX, [SCRIPT], [line("hi")], { cwd: emptyDir, env: cleanEnv({ LLM_MODELS: "x" }) });
    expect(badConfig.code).toBe(2);
    expect(badConfig.stderr).toMatch(/LLM_MODELS/);
    const badArg = await run(TSX, [SCRIPT, "--tier2"], [], { cwd: emptyDir, env: cleanEnv() });
    expect(badArg.code).toBe(2);
    expect(badArg.stderr).toMatch(/usage/);
  });

  it("--eval FILE prints the confusion table by family, for tier 1 alone and for tier 1+2 with the fast model", async () => {
    const file = join(emptyDir, "labelled.jsonl");
    await writeFile(
      file,
      [
        { text: "How does binary search work?", label: "allow", family: "cs" },
        { text: "best lasagna recipe", label: "reject", family: "offtopic" },
        { text: "tell me about python", label: "reject", family: "two_meaning" },
        { text: "why?", history: [{ role: "user", content: "is quicksort stable?" }], label: "allow", family: "followup_on" },
      ]
        .map((o) => JSON.stringify(o))
        .join("\n"),
    );
    const alone = await runRaw(TSX, [SCRIPT, "--tier1-only", "--eval", file], { cwd: emptyDir, env: cleanEnv() });
    expect(alone.code).toBe(0);
    expect(alone.stdout).toMatch(/^two_meaning\s+1\s+0\s+0\s+0\s+0\s+1\s+0\s+0\.0%/m); // reject-labelled, left uncertain
    expect(alone.stdout).toMatch(/tier 1 decides 75\.0% of 4 messages, 100\.0% right on those; clear computing questions rejected: 0/);
    expect(alone.stdout).not.toMatch(/tier 1\+2/);
    expect(alone.stderr).toMatch(/tier 1\+2 not measured/);

    llm.reset();
    llm.script("fast-model", behave.reply("NO"));
    const both = await runRaw(TSX, [SCRIPT, "--eval", file], { cwd: emptyDir, env: cleanEnv({ LLM_BASE_URL: llm.url, LLM_MODELS: "tutor-model,fast-model" }) });
    expect(both.code).toBe(0);
    expect(both.stdout).toMatch(/tier 1\+2 with the fast model/);
    expect(both.stdout).toMatch(/tier 1\+2: 100\.0% of all messages decided right/);
    expect(llm.calls("fast-model")).toBe(1); // only the uncertain message
  });

  it("--eval refuses a malformed labelled file with the line number (exit 2)", async () => {
    const file = join(emptyDir, "bad.jsonl");
    await writeFile(file, `${JSON.stringify({ text: "hi", label: "allow", family: "x" })}\n${JSON.stringify({ text: "hi", label: "maybe" })}\n`);
    const res = await runRaw(TSX, [SCRIPT, "--tier1-only", "--eval", file], { cwd: emptyDir, env: cleanEnv() });
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/line 2: label must be "allow" or "reject"/);
    const missing = await runRaw(TSX, [SCRIPT, "--eval"], { cwd: emptyDir, env: cleanEnv() });
    expect(missing.code).toBe(2);
  });
});
