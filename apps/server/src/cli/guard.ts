// `npm run guard [-- --tier1-only]`: the topic guard as an operator tool.
// stdin:  one JSON object per line, {"history":[{"role","content"}…],"text":"…"}
// stdout: one JSON object per input line, in order,
//         {"decision","allowed","tier","reason"} or {"error","line"}.
// Tier 2 uses the configured fast model (same environment and .env.local as
// the server). Logs go to stderr so stdout stays machine-readable.
import { createInterface } from "node:readline";
import { pino } from "pino";
import { z } from "zod";
import { MAX_TEXT_CHARS } from "@tutor/protocol";
import { TopicGuard, silentLogger, type ChatModel, type Logger } from "@tutor/core";
import { ConfigError, loadConfig, readEnv } from "../config.js";
import { createModels } from "../llm.js";
import { createLogger } from "../logger.js";

const USAGE = `usage: npm run guard [-- --tier1-only]
Reads JSON lines {"history":[{"role":"user"|"assistant","content":"…"}],"text":"…"} on stdin
and prints one JSON line per input: {"decision","allowed","tier","reason"} (or {"error","line"}).
  --tier1-only  keywords only: no model call; "decision" may be "uncertain" (allowed: true)`;

const Input = z.object({
  text: z.string().min(1, "text must not be empty").max(MAX_TEXT_CHARS, `text must be at most ${MAX_TEXT_CHARS} characters`),
  history: z
    .array(z.object({ role: z.enum(["system", "user", "assistant"]), content: z.string() }))
    .default([]),
});

function describeIssue(err: z.ZodError): string {
  const issue = err.issues[0]!;
  const where = issue.path.length > 0 ? `${issue.path.join(".")}: ` : "";
  return `${where}${issue.message}`;
}

interface GuardCliOptions {
  tier1Only: boolean;
  fast: ChatModel | null;
  logger: Logger;
}

/** The line protocol, kept free of process globals. */
async function runGuardCli(
  lines: AsyncIterable<string>,
  write: (line: string) => void,
  opts: GuardCliOptions,
): Promise<void> {
  const guard = new TopicGuard({ fast: opts.tier1Only ? null : opts.fast, logger: opts.logger });
  let n = 0;
  for await (const raw of lines) {
    n++;
    if (raw.trim() === "") continue;
    let input: z.infer<typeof Input>;
    try {
      const parsed = Input.safeParse(JSON.parse(raw));
      if (!parsed.success) {
        write(JSON.stringify({ error: describeIssue(parsed.error), line: n }));
        continue;
      }
      input = parsed.data;
    } catch (err) {
      write(JSON.stringify({ error: `invalid JSON: ${(err as Error).message}`, line: n }));
      continue;
    }
    try {
      if (opts.tier1Only) {
        const t1 = guard.tier1(input.text, input.history);
        write(JSON.stringify({ decision: t1.decision, allowed: t1.decision !== "reject", tier: 1, reason: t1.reason }));
      } else {
        const d = await guard.check(input.text, input.history);
        write(JSON.stringify({ decision: d.decision, allowed: d.allowed, tier: d.tier, reason: d.reason }));
      }
    } catch (err) {
      write(JSON.stringify({ error: (err as Error).message, line: n }));
    }
  }
}

async function main(argv: string[]): Promise<number> {
  const unknown = argv.filter((a) => a !== "--tier1-only");
  if (unknown.length > 0) {
    process.stderr.write(`${unknown.includes("--help") || unknown.includes("-h") ? "" : `unknown argument: ${unknown[0]}\n`}${USAGE}\n`);
    return unknown.includes("--help") || unknown.includes("-h") ? 0 : 2;
  }
  const tier1Only = argv.includes("--tier1-only");

  let fast: ChatModel | null = null;
  let logger: Logger = silentLogger;
  if (!tier1Only) {
    try {
      const config = loadConfig(readEnv());
      logger = createLogger(config.logLevel, pino.destination(2));
      fast = createModels(config, logger).fast;
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      process.stderr.write(`${err.message}\n`);
      return 2;
    }
    if (!fast) {
      process.stderr.write(
        "guard: no language model configured (set LLM_BASE_URL and LLM_MODELS, or GROQ_API_KEY): " +
          "uncertain questions are allowed with reason no_fast_model\n",
      );
    }
  }

  const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
  await runGuardCli(rl, (line) => process.stdout.write(`${line}\n`), { tier1Only, fast, logger });
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
