// Speaking to the tutor in real Chromium over the WebSocket: a fake
// microphone plays a question spoken by espeak-ng, the page's AudioWorklet
// resamples it to 16 kHz and streams it, the real server's VAD finds the
// question and sends it to the local fake transcription server, and the
// answer from the fake model appears in the page.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Page } from "playwright-core";
import {
  behave,
  concatAudio,
  requireSpeechTools,
  silence,
  speak,
  startFakeLlm,
  startFakeStt,
  sttBehave,
  type FakeLlm,
  type FakeRequest,
  type FakeStt,
  type FakeSttRequest,
} from "@tutor/testkit";
import { chromiumAvailable, ensureWebBuilt, launchBrowser, newPage, screenshot, startServerProcess, type Browser, type ServerProcess } from "./harness.js";

const BIG = "tutor-big";
const FAST = "tutor-fast";
const PASSWORD = "correct horse battery";
const QUESTION = "What is a binary search tree?";
const ANSWER =
  "A binary search tree keeps every key in the left subtree smaller than its node and every key in the right subtree larger. " +
  "Looking a key up follows one path from the root, so it takes time proportional to the tree's height.";

// Both checks run at load: under REQUIRE_SERVICES=1 a missing tool fails the suite.
const available = chromiumAvailable() && requireSpeechTools();

function lastUserText(req: FakeRequest): string {
  return [...req.messages].reverse().find((m) => m.role === "user")?.content ?? "";
}

/** A 16-bit mono WAV file of `samples` at `rate`. */
function wavFile(samples: Int16Array, rate: number): Buffer {
  const data = Buffer.alloc(samples.length * 2);
  for (let i = 0; i < samples.length; i++) data.writeInt16LE(samples[i]!, i * 2);
  const h = Buffer.alloc(44);
  h.write("RIFF", 0);
  h.writeUInt32LE(36 + data.length, 4);
  h.write("WAVE", 8);
  h.write("fmt ", 12);
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(1, 22);
  h.writeUInt32LE(rate, 24);
  h.writeUInt32LE(rate * 2, 28);
  h.writeUInt16LE(2, 32);
  h.writeUInt16LE(16, 34);
  h.write("data", 36);
  h.writeUInt32LE(data.length, 40);
  return Buffer.concat([h, data]);
}

/** Speech the server should accept as a question: over a second long and clearly louder than silence. */
function heardSpeech(r: FakeSttRequest): boolean {
  return r.wav !== undefined && r.wav.durationMs > 1000 && r.wav.rms > 0.01;
}

const eventually = <T>(fn: () => T | Promise<T>, timeout = 30_000) => expect.poll(fn, { timeout, interval: 100 });

describe.skipIf(!available)("voice in Chromium over the WebSocket", () => {
  let llm: FakeLlm;
  let stt: FakeStt;
  let server: ServerProcess;
  let dir: string;
  let questionWav: string;
  const browsers: Browser[] = [];
  const pageErrors: string[] = [];
  let pages: Page[] = [];

  beforeAll(async () => {
    ensureWebBuilt();
    dir = mkdtempSync(join(tmpdir(), "tutor-voice-e2e-"));
    // Half a second before (the worklet is loading as the fake device starts) and silence after, so the
    // detector sees the question end; Chromium's fake device plays the file once (`%noloop`), then silence.
    const samples = concatAudio(silence(500), await speak(QUESTION), silence(1500));
    const at16k = join(dir, "question-16k.wav");
    writeFileSync(at16k, wavFile(samples, 16_000));
    // 48 kHz, as real microphones deliver: the page's worklet has to resample it.
    questionWav = join(dir, "question-48k.wav");
    execFileSync("sox", ["-q", at16k, "-r", "48000", "-c", "1", "-b", "16", questionWav]);

    llm = await startFakeLlm({ models: [BIG, FAST] });
    llm.setDefault(FAST, behave.compute((req) => ((req.messages[0]?.content ?? "").startsWith("You write titles") ? "Binary search trees" : "YES")));
    llm.setDefault(BIG, behave.compute(() => behave.reply(ANSWER, { chunkDelayMs: 20 })));
    stt = await startFakeStt();
    stt.setDefault(sttBehave.compute((r) => (heardSpeech(r) ? QUESTION : "")));
    server = await startServerProcess({
      llmUrl: llm.url,
      models: [BIG, FAST],
      fastModel: FAST,
      env: { STT_BASE_URL: stt.url, STT_API_KEY: "test", STT_MODEL: "whisper-test" },
    });
  });

  afterEach(async (ctx) => {
    if (ctx.task.result?.state === "fail") {
      for (const [i, p] of pages.entries()) await screenshot(p, `failed-voice-${ctx.task.name.slice(0, 40).replace(/\W+/g, "-")}-${i}`).catch(() => {});
    }
    pages = [];
    for (const b of browsers.splice(0)) await b.close().catch(() => {});
    expect(pageErrors.splice(0)).toEqual([]);
  });

  afterAll(async () => {
    for (const b of browsers) await b.close().catch(() => {});
    await server?.stop();
    await llm?.close();
    await stt?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const open = async (micArgs: string[]) => {
    const browser = await launchBrowser(undefined, micArgs);
    browsers.push(browser);
    const page = await newPage(browser);
    pages.push(page);
    page.on("pageerror", (err) => pageErrors.push(err.message));
    await page.goto(server.url);
    return page;
  };

  const fakeMic = () => ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream", `--use-file-for-fake-audio-capture=${questionWav}%noloop`];

  const signUp = async (page: Page, username: string) => {
    await page.getByRole("button", { name: "Create account" }).first().click();
    await page.getByLabel("Username").fill(username);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.locator("form").getByRole("button", { name: "Create account" }).click();
    await page.getByLabel("Your question").waitFor();
    await eventually(() => page.getByLabel("Your question").isEnabled()).toBe(true);
  };

  it("hands-free: the spoken question is transcribed, shown and answered", async () => {
    const page = await open(fakeMic());
    await signUp(page, "speaker1");
    const mic = page.getByRole("button", { name: "Hold to talk" });
    await expect.poll(() => mic.getAttribute("aria-disabled")).toBe(null);
    await screenshot(page, "voice-1-mic-off");
    const before = stt.requests.length;

    await page.getByRole("switch", { name: "Hands-free" }).click();
    await eventually(() => page.getByRole("switch", { name: "Hands-free" }).getAttribute("aria-checked")).toBe("true");
    await page.getByText("Listening — ask your question and pause").waitFor();
    await screenshot(page, "voice-2-listening");

    // What the server made of the audio, shown in the voice bar…
    const transcript = page.getByTestId("voice-transcript");
    await eventually(() => transcript.textContent(), 45_000).toContain(QUESTION);
    await expect.poll(() => transcript.getAttribute("data-final")).toBe("true");
    // …then asked as the student's question, and answered.
    await eventually(() => page.locator(".message-user").last().textContent()).toContain(QUESTION);
    await eventually(() => page.getByText("A binary search tree keeps every key").first().isVisible()).toBe(true);
    await eventually(() => page.locator(".answer").last().textContent()).toContain("proportional to the tree's height");
    await screenshot(page, "voice-3-answered");

    // The transcription server got one real utterance: a valid 16 kHz mono WAV with speech in it.
    const got = stt.requests.slice(before);
    expect(got.length).toBeGreaterThanOrEqual(1);
    const first = got[0]!;
    expect(first.wavError).toBeUndefined();
    expect(first.model).toBe("whisper-test");
    expect(first.wav).toMatchObject({ sampleRate: 16_000, channels: 1, bitsPerSample: 16 });
    expect(first.wav!.durationMs).toBeGreaterThan(1200);
    expect(first.wav!.durationMs).toBeLessThan(6000);
    expect(first.wav!.rms).toBeGreaterThan(0.01);
    // The model was asked the transcribed question.
    expect(llm.requests.some((r) => r.model === BIG && lastUserText(r).includes(QUESTION))).toBe(true);

    // Hands-free off: the microphone is released.
    await page.getByRole("switch", { name: "Hands-free" }).click();
    await eventually(() => page.getByRole("button", { name: "Hold to talk" }).getAttribute("data-mic-status")).toBe("off");
  });

  it("says so when the server did not catch the question", async () => {
    stt.script(sttBehave.reply(""));
    const page = await open(fakeMic());
    await signUp(page, "speaker2");
    await page.getByRole("switch", { name: "Hands-free" }).click();
    const alert = page.getByTestId("voice-bar").getByRole("alert");
    await eventually(() => alert.textContent(), 45_000).toContain("didn't catch that");
    await screenshot(page, "voice-4-didnt-catch");
    // Nothing was asked.
    expect(await page.locator(".message-user").count()).toBe(0);
  });

  it("explains a refused microphone", async () => {
    // No fake-UI flag: the permission prompt is denied, as when a student clicks Block.
    const page = await open(["--use-fake-device-for-media-stream", "--deny-permission-prompts"]);
    await signUp(page, "speaker3");
    await page.getByRole("switch", { name: "Hands-free" }).click();
    const alert = page.getByTestId("voice-bar").getByRole("alert");
    await eventually(() => alert.textContent()).toContain("Microphone access is blocked");
    await expect.poll(() => page.getByRole("button", { name: "Hold to talk" }).getAttribute("data-mic-status")).toBe("off");
    await screenshot(page, "voice-5-permission-denied");
  });
});
