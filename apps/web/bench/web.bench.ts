// Web app benchmark: initial JavaScript (gzipped), and in headless Chromium
// the time to show a 500-message conversation and to stream 1,000 deltas,
// with the longest frame while streaming. Baselines, measured in the same
// run: the same text as plain pre-wrapped text.
import { createServer, type Server } from "node:http";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { extname, join, normalize } from "node:path";
import { gzipSync } from "node:zlib";
import type { Conversation, Message } from "@tutor/protocol";
import type { BenchResult } from "../../../scripts/bench-types.js";
import { chromiumAvailable, ensureWebBuilt, launchBrowser, WEB_DIR } from "../e2e/harness.js";

interface ManifestChunk {
  file: string;
  isEntry?: boolean;
  isDynamicEntry?: boolean;
  imports?: string[];
  dynamicImports?: string[];
  css?: string[];
}
type Manifest = Record<string, ManifestChunk>;

const gz = (file: string) => gzipSync(readFileSync(file), { level: 9 }).length;
const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;

/** JS files loaded with a chunk: itself and its static imports, transitively. */
function closure(manifest: Manifest, key: string, seen = new Set<string>()): Set<string> {
  const chunk = manifest[key];
  if (!chunk || seen.has(chunk.file)) return seen;
  seen.add(chunk.file);
  for (const imp of chunk.imports ?? []) closure(manifest, imp, seen);
  return seen;
}

function bundleSizes(dist: string): { initial: number; chat: number; lazyHighlight: number; files: number } {
  const manifest = JSON.parse(readFileSync(join(dist, ".vite", "manifest.json"), "utf8")) as Manifest;
  const entryKey = Object.keys(manifest).find((k) => manifest[k]!.isEntry);
  if (!entryKey) throw new Error("no entry in the Vite manifest");
  const initial = closure(manifest, entryKey);
  const shellKey = Object.keys(manifest).find((k) => k.endsWith("components/Shell.tsx"));
  const chat = new Set(initial);
  if (shellKey) for (const f of closure(manifest, shellKey)) chat.add(f);
  const commonKey = Object.keys(manifest).find((k) => /highlight\.js\/(es|lib)\/common/.test(k));
  const sum = (files: Iterable<string>) => [...files].reduce((n, f) => n + gz(join(dist, f)), 0);
  const lazy = commonKey ? [...closure(manifest, commonKey)].filter((f) => !chat.has(f)) : [];
  return { initial: sum(initial), chat: sum(chat), lazyHighlight: sum(lazy), files: Object.keys(manifest).length };
}

// ------------------------------------------------------------ fixtures

const PARAGRAPHS = [
  "A **stack** is a last-in, first-out collection: the last item pushed is the first popped. Think of a pile of plates.",
  "Binary search halves the range each step, so it needs about log2(n) comparisons; on a million items that is about twenty.",
  "A [EXPLAIN]hash table[/EXPLAIN] maps keys to buckets with a hash function, giving average O(1) lookups.",
  "- push adds on top\n- pop removes the top\n- peek reads it without removing",
  "| structure | lookup | insert |\n| --- | --- | --- |\n| array | O(1) | O(n) |\n| hash table | O(1) | O(1) |",
  "```python\ndef binary_search(xs, target):\n    lo, hi = 0, len(xs) - 1\n    while lo <= hi:\n        mid = (lo + hi) // 2\n        if xs[mid] == target:\n            return mid\n        if xs[mid] < target:\n            lo = mid + 1\n        else:\n            hi = mid - 1\n    return -1\n```",
  "### Why it matters\n\nChoosing the right structure turns an O(n²) loop into O(n log n) or better.",
];

function answer(i: number): string {
  const parts: string[] = [];
  for (let k = 0; k < 3; k++) parts.push(PARAGRAPHS[(i + k * 3) % PARAGRAPHS.length]!);
  return parts.join("\n\n");
}

function conversation(id: string, count: number): Conversation {
  const t = Date.parse("2026-11-01T10:00:00.000Z");
  const messages: Message[] = [];
  for (let i = 0; i < count; i++) {
    const ts = new Date(t + i * 60_000).toISOString();
    messages.push(
      i % 2 === 0
        ? { id: `${id}-m${i}`, type: "user", content: `Question ${i}: how does ${["a stack", "binary search", "hashing"][i % 3]} work?`, timestamp: ts }
        : { id: `${id}-m${i}`, type: "ai", content: answer(i), timestamp: ts, model: "bench-model" },
    );
  }
  const last = messages.at(-1);
  return {
    id,
    title: `Bench ${count}`,
    teaching_mode: "qa",
    created_at: messages[0]?.timestamp ?? new Date(t).toISOString(),
    updated_at: last?.timestamp ?? new Date(t).toISOString(),
    message_count: messages.length,
    last_message: last ? { type: last.type, content: last.content } : null,
    messages,
    has_more: false,
  };
}

/** 1,000 deltas of a long Markdown answer, split like a model's tokens (a word or two each). */
function deltas(count: number): string[] {
  const text = Array.from({ length: 40 }, (_, i) => PARAGRAPHS[i % PARAGRAPHS.length]).join("\n\n");
  const words = text.match(/\S+\s*|\s+/g) ?? [];
  const out: string[] = [];
  for (let i = 0; i < count; i++) out.push(words[i % words.length]!);
  return out;
}

// ------------------------------------------------------------ page build and server

async function buildBenchPage(outDir: string): Promise<void> {
  process.env.NODE_ENV = "production";
  const { build } = await import("vite");
  await build({
    configFile: join(WEB_DIR, "vite.config.ts"),
    root: WEB_DIR,
    logLevel: "warn",
    build: {
      outDir,
      emptyOutDir: true,
      manifest: false,
      minify: process.env.BENCH_NO_MINIFY ? false : undefined,
      rolldownOptions: { input: join(WEB_DIR, "bench", "page", "index.html") },
    },
  });
}

const TYPES: Record<string, string> = {
  ".html": "text/html",
  ".js": "text/javascript",
  ".css": "text/css",
  ".svg": "image/svg+xml",
};

function serve(dir: string): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent((req.url ?? "/").split("?")[0]!)).replace(/^(\.\.[/\\])+/, "");
    const file = join(dir, path === "/" ? "bench/page/index.html" : path);
    if (!file.startsWith(dir) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" }).end(readFileSync(file));
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => {
      const a = server.address();
      resolve({ server, url: `http://127.0.0.1:${typeof a === "object" && a ? a.port : 0}/` });
    }),
  );
}

interface BenchApi {
  ready(): Promise<void>;
  openConversation(c: Conversation): Promise<FrameStats & { firstPaintMs: number; allMs: number }>;
  plainRender(c: Conversation): Promise<number>;
  streamIntoApp(id: string, d: string[]): Promise<StreamStats>;
  streamPlain(d: string[]): Promise<StreamStats>;
}

interface FrameStats {
  longestFrameMs: number;
  longTasks: number;
  longestTaskMs: number;
}

interface StreamStats extends FrameStats {
  totalMs: number;
  renders: number;
}

const ms = (n: number) => `${n.toFixed(0)} ms`;

export default async function run(): Promise<BenchResult[]> {
  // Always a fresh production build: sizes must describe the current sources.
  ensureWebBuilt(true);
  const sizes = bundleSizes(join(WEB_DIR, "dist"));
  const sizeResult: BenchResult = {
    title: "Web app: JavaScript sent to the browser (gzip -9)",
    columns: ["what", "size", "target"],
    rows: [
      ["initial JavaScript (entry + static imports: sign-in screen)", kb(sizes.initial), "≤ 200 KB"],
      ["after sign-in (plus chat screen: Markdown, highlight.js core + 9 languages)", kb(sizes.chat), "≤ 200 KB"],
      ["more highlight.js languages, loaded only when an answer needs one", kb(sizes.lazyHighlight), "—"],
    ],
    notes: [
      "The chat screen's chunk is requested in parallel with token verification when a session is stored, so returning students do not wait on it.",
      "Includes React 19, react-markdown + remark-gfm, and zod (incoming frames are validated with the shared protocol schemas).",
    ],
  };

  if (!chromiumAvailable()) {
    return [{ ...sizeResult, notes: [...(sizeResult.notes ?? []), "Rendering not measured: Chromium is not installed."] }];
  }

  const outDir = mkdtempSync(join(tmpdir(), "tutor-web-bench-"));
  let server: Server | undefined;
  const browser = await launchBrowser({ width: 1280, height: 900 });
  try {
    await buildBenchPage(outDir);
    const served = await serve(outDir);
    server = served.server;
    const page = await browser.context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(served.url);
    await page.waitForFunction(() => "bench" in window);
    await page.evaluate(() => (window as unknown as { bench: BenchApi }).bench.ready());
    const open = (c: Conversation) =>
      page.evaluate((conv) => (window as unknown as { bench: BenchApi }).bench.openConversation(conv), c);
    const big = conversation("c500", 500);
    const small = conversation("c1", 1);
    const d = deltas(1000);

    // Warm-up: the first render pays for parsing and JIT of the chat chunk.
    await open(conversation("warm", 20));
    // Each measure runs twice and the better run is kept: other work on the
    // machine only ever adds time, so the minimum is the app's own cost.
    const best = <T extends { longestFrameMs: number }>(a: T, b: T): T => (a.longestFrameMs <= b.longestFrameMs ? a : b);
    const appRender = best(await open(big), await open(conversation("c500b", 500)));
    const plainRender = Math.min(
      await page.evaluate((c) => (window as unknown as { bench: BenchApi }).bench.plainRender(c), big),
      await page.evaluate((c) => (window as unknown as { bench: BenchApi }).bench.plainRender(c), big),
    );
    const streamInto = (id: string) =>
      page.evaluate(([cid, a]) => (window as unknown as { bench: BenchApi }).bench.streamIntoApp(cid, a), [id, d] as const);
    const tracing = process.env.BENCH_TRACE ? await page.context().newCDPSession(page) : null;
    const traceEvents: { name: string; dur?: number; ph: string }[] = [];
    if (tracing) {
      tracing.on("Tracing.dataCollected", (e) => {
        traceEvents.push(...(e.value as unknown as { name: string; dur?: number; ph: string }[]));
      });
      await tracing.send("Tracing.start", { categories: "devtools.timeline,disabled-by-default-devtools.timeline", transferMode: "ReportEvents" });
    }
    // BENCH_PROFILE=1 (with BENCH_NO_MINIFY=1 for names) prints where the page spends its time while streaming.
    const cdp = process.env.BENCH_PROFILE ? await page.context().newCDPSession(page) : null;
    if (cdp) {
      await cdp.send("Profiler.enable");
      await cdp.send("Profiler.start");
    }
    const bigFirst = await streamInto("c500b");
    if (cdp) {
      const { profile } = await cdp.send("Profiler.stop");
      const self = new Map<string, number>();
      const dt = profile.timeDeltas ?? [];
      const byId = new Map(profile.nodes.map((n) => [n.id, n]));
      (profile.samples ?? []).forEach((id, i) => {
        const n = byId.get(id)!;
        const key = `${n.callFrame.functionName || "(anon)"} ${n.callFrame.url.split("/").pop()}:${n.callFrame.lineNumber}`;
        self.set(key, (self.get(key) ?? 0) + (dt[i] ?? 0) / 1000);
      });
      console.log([...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 40).map(([k, v]) => `${v.toFixed(0).padStart(6)} ms  ${k}`).join("\n"));
    }
    if (tracing) {
      const done = new Promise((r) => tracing.once("Tracing.tracingComplete", r));
      await tracing.send("Tracing.end");
      await done;
      const sums = new Map<string, number>();
      for (const e of traceEvents) if (e.ph === "X" && e.dur) sums.set(e.name, (sums.get(e.name) ?? 0) + e.dur / 1000);
      console.log([...sums.entries()].sort((a, b) => b[1] - a[1]).slice(0, 15).map(([k, v]) => `${v.toFixed(0).padStart(6)} ms  ${k}`).join("\n"));
    }
    const streamBig = best(bigFirst, await streamInto("c500b"));
    await open(small);
    const streamSmall = best(await streamInto("c1"), await streamInto("c1"));
    const plainStream = () => page.evaluate((a) => (window as unknown as { bench: BenchApi }).bench.streamPlain(a), d);
    const streamPlain = best(await plainStream(), await plainStream());
    if (errors.length) throw new Error(`page errors: ${errors.join("; ")}`);

    const chars = d.join("").length;
    const renderResult: BenchResult = {
      title: "Web app: rendering in headless Chromium",
      columns: ["measure", "app (React, Markdown, highlight)", "baseline: plain pre-wrapped text", "target"],
      rows: [
        ["open a 500-message conversation: latest messages painted", ms(appRender.firstPaintMs), "—", "—"],
        ["… all 500 messages rendered (older ones in a background transition)", ms(appRender.allMs), ms(plainRender), "—"],
        ["… longest frame meanwhile / long tasks", `${ms(appRender.longestFrameMs)} / ${appRender.longTasks}`, "—", "≤ 50 ms / 0"],
        ["stream 1,000 deltas into an empty conversation: total", ms(streamSmall.totalMs), ms(streamPlain.totalMs), "—"],
        ["… longest frame while streaming", ms(streamSmall.longestFrameMs), ms(streamPlain.longestFrameMs), "≤ 50 ms"],
        ["… long tasks (> 50 ms) / longest", `${streamSmall.longTasks} / ${ms(streamSmall.longestTaskMs)}`, `${streamPlain.longTasks} / ${ms(streamPlain.longestTaskMs)}`, "0"],
        ["… DOM updates of the answer", String(streamSmall.renders), String(streamPlain.renders), "—"],
        ["stream 1,000 deltas below the 500 messages: total", ms(streamBig.totalMs), "—", "—"],
        ["… longest frame while streaming", ms(streamBig.longestFrameMs), "—", "≤ 50 ms"],
        ["… long tasks (> 50 ms) / longest", `${streamBig.longTasks} / ${ms(streamBig.longestTaskMs)}`, "—", "0"],
      ],
      notes: [
        `Deltas are delivered one per task through the app's real path (WebSocket message → zod validation → per-frame batching → reducer → React), ${chars.toLocaleString("en-US")} characters of Markdown with tables, lists and code; the baseline appends the same deltas to one text node.`,
        "Each delta is its own task separated by setTimeout(0) (≈4 ms after nesting), about 250 deltas/s — faster than a fast model streams.",
        "Longest frame = largest gap between animation frames during the stream (includes the browser's own work). Every measure is run twice and the run with the shorter longest frame is shown (the machine runs other work; interference only adds time).",
      ],
    };
    return [sizeResult, renderResult];
  } finally {
    await browser.close();
    server?.close();
    rmSync(outDir, { recursive: true, force: true });
  }
}
