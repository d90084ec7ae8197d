// `npm run bench`: runs every `<workspace>/bench/*.bench.ts` in turn, prints
// each table and writes them all to docs/benchmarks.md.
//   npm run bench                 all benchmarks
//   npm run bench -- guard list   only those whose file name contains a word
import { readdirSync, existsSync, readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join, relative, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { BenchResult } from "./bench-types.js";

const root = resolve(import.meta.dirname, "..");
const filters = process.argv.slice(2).filter((a) => !a.startsWith("-"));

function benchFiles(): string[] {
  const files: string[] = [];
  for (const group of ["packages", "apps"]) {
    for (const ws of readdirSync(join(root, group))) {
      const dir = join(root, group, ws, "bench");
      if (!existsSync(dir)) continue;
      for (const f of readdirSync(dir).sort()) if (f.endsWith(".bench.ts")) files.push(join(dir, f));
    }
  }
  return files.filter((f) => filters.length === 0 || filters.some((w) => f.includes(w)));
}

function table(r: BenchResult): string {
  const head = `| ${r.columns.join(" | ")} |\n| ${r.columns.map(() => "---").join(" | ")} |`;
  const rows = r.rows.map((row) => `| ${row.join(" | ")} |`).join("\n");
  const notes = (r.notes ?? []).map((n) => `- ${n}`).join("\n");
  return `## ${r.title}\n\n${head}\n${rows}\n${notes ? `\n${notes}\n` : ""}`;
}

// Sections by source file, so a filtered run keeps the others' last results.
const out = join(root, "docs/benchmarks.md");
const sections = new Map<string, string>();
if (existsSync(out)) {
  for (const m of readFileSync(out, "utf8").matchAll(/<!-- bench:(\S+) -->\n([\s\S]*?)<!-- \/bench -->/g)) sections.set(m[1]!, m[2]!);
}
let failed = 0;
// A benchmark awaiting something that holds no reference on the event loop (a native
// model load, an unreferenced worker or timer) would let the loop empty: Node then exits
// with code 0 mid-run, printing nothing and writing nothing. This keeps it alive, and the
// exit hook makes any such end loud.
const hold = setInterval(() => {}, 60_000);
let finished = false;
process.on("exit", () => {
  if (finished) return;
  console.error("✗ the benchmarks ended before they had finished (nothing kept the process alive)");
  process.exitCode = 1;
});
for (const file of benchFiles()) {
  const name = relative(root, file);
  process.stdout.write(`\n▶ ${name}\n`);
  const started = Date.now();
  try {
    const mod = (await import(pathToFileURL(file).href)) as { default: () => Promise<BenchResult | BenchResult[]> };
    const results = [await mod.default()].flat();
    const text = results.map(table).join("\n");
    console.log(text);
    sections.set(name, `${text}\n_Source: \`${name}\`, run in ${((Date.now() - started) / 1000).toFixed(1)} s on ${new Date().toISOString().slice(0, 10)}._\n`);
  } catch (err) {
    failed++;
    console.error(`✗ ${name}: ${(err as Error).stack ?? String(err)}`);
    sections.set(name, `## ${name}\n\nFailed: ${(err as Error).message}\n`);
  }
}

const cpu = cpus();
const header =
  `# Benchmarks\n\nWritten by \`npm run bench\` on ${cpu.length} × ${cpu[0]?.model.trim() ?? "cpu"}, ` +
  `${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}. Each table has its baseline measured in the same run; ` +
  "`npm run bench -- <word>` reruns only the benchmarks whose file name contains the word.\n\n";
mkdirSync(join(root, "docs"), { recursive: true });
const body = [...sections].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `<!-- bench:${k} -->\n${v}<!-- /bench -->\n`);
writeFileSync(out, header + body.join("\n"));
console.log(`\nwrote docs/benchmarks.md (${sections.size} section(s))`);
finished = true;
clearInterval(hold);
process.exit(failed ? 1 : 0);
