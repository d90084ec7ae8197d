// End-to-end plumbing: build the web app, run the real server process against
// the local fake OpenAI-compatible server, and drive Debian's Chromium through
// playwright-core. Never downloads a browser.
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { freePort } from "@tutor/testkit";

export const WEB_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const REPO_DIR = resolve(WEB_DIR, "../..");
export const SCREENSHOT_DIR = join(REPO_DIR, "test-output", "screenshots");
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** Chromium is needed; when it is missing the suite skips, or fails under REQUIRE_SERVICES=1. */
export function chromiumAvailable(): boolean {
  if (existsSync(CHROMIUM)) return true;
  if (process.env.REQUIRE_SERVICES === "1") {
    throw new Error(`Chromium not found at ${CHROMIUM} (REQUIRE_SERVICES=1): install it with apt-get install -y chromium`);
  }
  return false;
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** Build apps/web/dist unless it is newer than every source file (`force`: always). */
export function ensureWebBuilt(force = false): void {
  const index = join(WEB_DIR, "dist", "index.html");
  const sources = Math.max(
    newestMtime(join(WEB_DIR, "src")),
    newestMtime(join(REPO_DIR, "packages", "protocol", "src")),
    statSync(join(WEB_DIR, "index.html")).mtimeMs,
    statSync(join(WEB_DIR, "vite.config.ts")).mtimeMs,
  );
  if (!force && existsSync(index) && statSync(index).mtimeMs > sources) return;
  execFileSync(process.execPath, [join(REPO_DIR, "node_modules", "vite", "bin", "vite.js"), "build", "--logLevel", "warn"], {
    cwd: WEB_DIR,
    stdio: "inherit",
    // vitest sets NODE_ENV=test, which would bundle React's development build.
    env: { ...process.env, NODE_ENV: "production" },
  });
}

export interface ServerProcess {
  url: string;
  port: number;
  dataDir: string;
  /** Everything the process printed, for failure messages. */
  output(): string;
  /** SIGTERM (graceful: running answers finish and are stored) and wait for exit. */
  stop(): Promise<void>;
  /** Start again on the same port and data directory. */
  restart(): Promise<void>;
}

export interface ServerOptions {
  llmUrl: string;
  models: string[];
  fastModel: string;
  port?: number;
  dataDir?: string;
  /** More environment for the server (e.g. STT_BASE_URL, LIVEKIT_URL). */
  env?: Record<string, string>;
}

async function waitHealthy(url: string, proc: ChildProcess, out: () => string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`server exited with ${proc.exitCode}:\n${out()}`);
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`server did not answer /healthz within ${timeoutMs} ms:\n${out()}`);
}

/** Runs `node --import tsx apps/server/src/main.ts` as a real process. */
export async function startServerProcess(opts: ServerOptions): Promise<ServerProcess> {
  const port = opts.port ?? (await freePort());
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), "tutor-e2e-"));
  const url = `http://127.0.0.1:${port}`;
  let log = "";
  let proc: ChildProcess;
  const launch = async () => {
    proc = spawn(process.execPath, ["--import", "tsx", "apps/server/src/main.ts"], {
      cwd: REPO_DIR,
      env: {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? tmpdir(),
        HOST: "127.0.0.1",
        PORT: String(port),
        DATA_DIR: dataDir,
        LLM_BASE_URL: opts.llmUrl,
        LLM_API_KEY: "test",
        LLM_MODELS: opts.models.join(","),
        LLM_FAST_MODEL: opts.fastModel,
        LOG_LEVEL: "warn",
        ...opts.env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    proc.stdout?.on("data", (d: Buffer) => (log += d.toString()));
    proc.stderr?.on("data", (d: Buffer) => (log += d.toString()));
    await waitHealthy(url, proc, () => log);
  };
  const stop = async () => {
    const p = proc;
    if (p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise<void>((r) => p.once("exit", () => r()));
    p.kill("SIGTERM");
    const killer = setTimeout(() => p.kill("SIGKILL"), 20_000);
    await exited;
    clearTimeout(killer);
  };
  await launch();
  return {
    url,
    port,
    dataDir,
    output: () => log,
    stop,
    restart: async () => {
      await stop();
      await launch();
    },
  };
}

export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** A fresh profile each time: nothing leaks between tests (localStorage included). */
export async function launchBrowser(viewport = { width: 1280, height: 820 }, extraArgs: string[] = [], options: { bypassCSP?: boolean } = {}): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), "tutor-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_ARGS, ...extraArgs],
    viewport,
    reducedMotion: "reduce",
    // The axe-core check injects its script; the app's CSP would refuse it.
    ...(options.bypassCSP ? { bypassCSP: true } : {}),
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * After an e2e test (`afterEach(ctx)`): when it failed, a screenshot of every
 * open page (`<prefix>-<test name>-<n>.png`), then every browser closed.
 * Without `ctx` (afterAll) it only closes them.
 */
export async function closeBrowsers(
  browsers: Browser[],
  ctx?: { task: { name: string; result?: { state?: string } | undefined } },
  prefix = "failed",
): Promise<void> {
  if (ctx?.task.result?.state === "fail") {
    const name = ctx.task.name.slice(0, 40).replace(/\W+/g, "-");
    let n = 0;
    for (const b of browsers) for (const p of b.context.pages()) await screenshot(p, `${prefix}-${name}-${n++}`).catch(() => {});
  }
  for (const b of browsers.splice(0)) await b.close().catch(() => {});
}

export interface SpokenRecord {
  text: string;
  rate: number;
  voice: string | null;
  at: number;
}

/**
 * Replaces the page's speechSynthesis with a recorder that behaves like the
 * real thing (one utterance at a time, `end` after a while, `cancel()` drops
 * the queue) and remembers what it was asked to say, in order.
 */
export function speechRecorderScript(options: { voices: boolean }): string {
  return `(() => {
    const spoken = [];
    const cancels = [];
    window.__speech = { spoken, cancels };
    const voices = ${options.voices ? `[
      { voiceURI: "test-en-us", name: "Test English", lang: "en-US", default: true, localService: true },
      { voiceURI: "test-en-gb", name: "Test British", lang: "en-GB", default: false, localService: true },
    ]` : "[]"};
    class Utterance extends EventTarget {
      constructor(text) { super(); this.text = text; this.rate = 1; this.pitch = 1; this.volume = 1; this.voice = null; this.lang = ""; this.onstart = null; this.onend = null; this.onerror = null; }
    }
    class Synth extends EventTarget {
      constructor() { super(); this.queue = []; this.current = null; this.paused = false; this.onvoiceschanged = null; }
      get speaking() { return this.current !== null; }
      get pending() { return this.queue.length > 0; }
      getVoices() { return voices.slice(); }
      speak(u) {
        spoken.push({ text: u.text, rate: u.rate, voice: u.voice ? u.voice.name : null, at: performance.now() });
        this.queue.push(u);
        this.next();
      }
      next() {
        if (this.current || this.queue.length === 0) return;
        const u = this.current = this.queue.shift();
        setTimeout(() => u.onstart && u.onstart(new Event("start")), 0);
        setTimeout(() => {
          if (this.current !== u) return;
          this.current = null;
          u.onend && u.onend(new Event("end"));
          this.next();
        }, 40 + u.text.length * 3);
      }
      cancel() {
        cancels.push(performance.now());
        const dropped = [this.current, ...this.queue].filter(Boolean);
        this.queue = []; this.current = null;
        for (const u of dropped) u.onerror && u.onerror(Object.assign(new Event("error"), { error: "canceled" }));
      }
      pause() { this.paused = true; }
      resume() { this.paused = false; }
    }
    Object.defineProperty(window, "speechSynthesis", { value: new Synth(), configurable: true });
    Object.defineProperty(window, "SpeechSynthesisUtterance", { value: Utterance, configurable: true, writable: true });
  })();`;
}

/** Records every distinct text of the answer being streamed (one entry per DOM update that changed it). */
export const STREAM_RECORDER_SCRIPT = `(() => {
  const seen = [];
  window.__streamTexts = seen;
  let streaming = false;
  const watch = () => {
    const el = document.querySelector(".message-streaming .answer");
    if (!el) {
      if (streaming) window.__streamEndedAt = performance.now();
      streaming = false;
      return;
    }
    streaming = true;
    const t = el.textContent;
    if (seen[seen.length - 1] !== t) seen.push(t);
  };
  new MutationObserver(watch).observe(document, { subtree: true, childList: true, characterData: true });
})();`;

export async function newPage(browser: Browser, options: { voices?: boolean } = {}): Promise<Page> {
  const page = await browser.context.newPage();
  await page.addInitScript(speechRecorderScript({ voices: options.voices ?? true }));
  await page.addInitScript(STREAM_RECORDER_SCRIPT);
  return page;
}

/**
 * A page in `browser` at `url` whose uncaught errors go to `pageErrors`;
 * with `token`, signed in as if the student had signed in before.
 */
export async function openPage(browser: Browser, url: string, pageErrors: string[], opts: { token?: string | null; voices?: boolean } = {}): Promise<Page> {
  const page = await newPage(browser, { voices: opts.voices ?? true });
  page.on("pageerror", (err) => pageErrors.push(err.message));
  if (opts.token) await page.addInitScript(`localStorage.setItem("tutor.session", JSON.stringify({ token: ${JSON.stringify(opts.token)} }));`);
  await page.goto(url);
  return page;
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`) });
}

export async function spoken(page: Page): Promise<SpokenRecord[]> {
  return page.evaluate(() => (window as unknown as { __speech: { spoken: SpokenRecord[] } }).__speech.spoken);
}

/** performance.now() in the page when the last streamed answer was replaced by the final one. */
export async function streamEndedAt(page: Page): Promise<number | null> {
  return page.evaluate(() => (window as unknown as { __streamEndedAt?: number }).__streamEndedAt ?? null);
}

export async function streamTexts(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as unknown as { __streamTexts: string[] }).__streamTexts.slice());
}

/** axe-core's serious and critical violations on the page as it is (rule id and the first offending nodes). */
export async function axeViolations(page: Page): Promise<string[]> {
  const source = readFileSync(join(REPO_DIR, "node_modules", "axe-core", "axe.min.js"), "utf8");
  if (!(await page.evaluate(() => "axe" in window))) await page.addScriptTag({ content: source });
  const found = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(ctx: unknown, opts: object): Promise<{ violations: { id: string; impact: string | null; nodes: { target: string[] }[] }[] }> } }).axe;
    const r = await axe.run(document, { resultTypes: ["violations"] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")) }));
  });
  return found.filter((v) => v.impact === "serious" || v.impact === "critical").map((v) => `${v.id} (${v.impact}): ${v.nodes.join(", ")}`);
}
