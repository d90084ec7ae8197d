// `npm run guard [-- --tier1-only] [--eval FILE]`: the topic guard as an operator tool.
// stdin:  one JSON object per line, {"history":[{"role","content"}…],"text":"…"}
// stdout: one JSON object per input line, in order,
//         {"decision","allowed","tier","reason"} or {"error","line"}.
// Tier 2 uses the configured fast model (same environment and .env.local as
// the server). Logs go to stderr so stdout stays machine-readable.
// --eval FILE: scores a labelled JSON-lines file ({text, history?, label, family})
// and prints the confusion table by family, for tier 1 alone and, when a fast
// model is configured, for tier 1+2.
import { readFile } from "node:fs/promises";
import { createInterface } from "node:readline";
import { pino } from "pino";
import { z } from "zod";
import { MAX_TEXT_CHARS } from "@tutor/protocol";
import { LabelledSetError, TopicGuard, formatScore, parseLabelled, score, silentLogger, type ChatModel, type Logger } from "@tutor/core";
import { ConfigError, loadConfig, readEnv } from "../config.js";
import { createModels } from "../llm.js";
import { createLogger } from "../logger.js";

const USAGE = `usage: npm run guard [-- --tier1-only] [--eval FILE]
Reads JSON lines {"history":[{"role":"user"|"assistant","content":"…"}],"text":"…"} on stdin
and prints one JSON line per input: {"decision","allowed","tier","reason"} (or {"error","line"}).
  --tier1-only  tier 1 only: no model call; "decision" may be "uncertain" (allowed: true)
  --eval FILE   score a labelled JSON-lines file ({"text","history"?,"label":"allow"|"reject","family"})
                and print the confusion table by family: tier 1 alone, then tier 1+2 when a fast
                model is configured (not with --tier1-only)`;

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

/** --eval: the tables go to stdout; a malformed file is an error with its line number (exit 2). */
async function runEval(file: string, fast: ChatModel | null, logger: Logger): Promise<number> {
  let items;
  try {
    items = parseLabelled(await readFile(file, "utf8"));
  } catch (err) {
    if (err instanceof LabelledSetError || (err as NodeJS.ErrnoException).code !== undefined) {
      process.stderr.write(`guard --eval ${file}: ${(err as Error).message}\n`);
      return 2;
    }
    throw err;
  }
  const tier1 = new TopicGuard();
  const alone = await score(items, (m) => {
    const t = tier1.tier1(m.text, m.history);
    return { tier1: t, allowed: t.decision !== "reject" };
  });
  process.stdout.write(`tier 1 alone (${file})\n${formatScore(alone)}\n`);
  if (fast) {
    const guard = new TopicGuard({ fast, logger });
    const both = await score(items, async (m) => {
      const t = guard.tier1(m.text, m.history);
      const d = await guard.check(m.text, m.history ?? []);
      return { tier1: t, allowed: d.allowed };
    });
    process.stdout.write(`\ntier 1+2 with the fast model\n${formatScore(both, { tier2: true })}\n`);
  } else {
    process.stderr.write("guard: no fast model configured (or --tier1-only): tier 1+2 not measured\n");
  }
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const evalAt = argv.indexOf("--eval");
  const evalFile = evalAt >= 0 ? argv[evalAt + 1] : undefined;
  if (evalAt >= 0 && (evalFile === undefined || evalFile.startsWith("--"))) {
    process.stderr.write(`--eval needs a file\n${USAGE}\n`);
    return 2;
  }
  const unknown = argv.filter((a, k) => a !== "--tier1-only" && !(evalAt >= 0 && (k === evalAt || k === evalAt + 1)));
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
      // The CLI asks the configured server models only (the in-process model would first have to download and load).
      fast = (await createModels({ ...config, localModel: { kind: "off" } }, logger)).fast;
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      process.stderr.write(`${err.message}\n`);
      return 2;
    }
    if (!fast && evalFile === undefined) {
      process.stderr.write(
        "guard: no language model configured (set LLM_BASE_URL and LLM_MODELS, or GROQ_API_KEY): " +
          "uncertain questions are allowed with reason no_fast_model\n",
      );
    }
  }

  if (evalFile !== undefined) return runEval(evalFile, fast, logger);

  const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
  await runGuardCli(rl, (line) => process.stdout.write(`${line}\n`), { tier1Only, fast, logger });
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
