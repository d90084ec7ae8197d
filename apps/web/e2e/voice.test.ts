// Speaking to the tutor in real Chromium over the WebSocket: a fake
// microphone plays a question spoken by espeak-ng, the page's AudioWorklet
// resamples it to 16 kHz and streams it, the real server's VAD finds the
// question and sends it to the local fake transcription server, and the
// answer from the fake model appears in the page.
import { mkdtempSync, rmSync } from "node:fs";
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
  type FakeStt,
  type FakeSttRequest,
  writeWavFile,
} from "@tutor/testkit";
import { fakeMicArgs, lastUserText, signUpInPage, titleOrYes } from "./flows.js";
import { chromiumAvailable, closeBrowsers, ensureWebBuilt, launchBrowser, openPage, screenshot, startServerProcess, type Browser, type ServerProcess } from "./harness.js";

const BIG = "tutor-big";
const FAST = "tutor-fast";
const QUESTION = "What is a binary search tree?";
const ANSWER =
  "A binary search tree keeps every key in the left subtree smaller than its node and every key in the right subtree larger. " +
  "Looking a key up follows one path from the root, so it takes time proportional to the tree's height.";

// Both checks run at load: under REQUIRE_SERVICES=1 a missing tool fails the suite.
const available = chromiumAvailable() && requireSpeechTools();

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

  beforeAll(async () => {
    ensureWebBuilt();
    dir = mkdtempSync(join(tmpdir(), "tutor-voice-e2e-"));
    // Half a second before (the worklet is loading as the fake device starts) and silence after, so the
    // detector sees the question end; Chromium's fake device plays the file once (`%noloop`), then silence.
    // At 48 kHz, as real microphones deliver: the page's worklet has to resample it.
    questionWav = join(dir, "question-48k.wav");
    writeWavFile(questionWav, concatAudio(silence(500), await speak(QUESTION), silence(1500)));

    llm = await startFakeLlm({ models: [BIG, FAST] });
    llm.setDefault(FAST, titleOrYes("Binary search trees"));
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
    await closeBrowsers(browsers, ctx, "failed-voice");
    expect(pageErrors.splice(0)).toEqual([]);
  });

  afterAll(async () => {
    await closeBrowsers(browsers);
    await server?.stop();
    await llm?.close();
    await stt?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const open = async (micArgs: string[]) => {
    const browser = await launchBrowser(undefined, micArgs);
    browsers.push(browser);
    return openPage(browser, server.url, pageErrors);
  };

  const fakeMic = () => fakeMicArgs(questionWav);

  const signUp = async (page: Page, username: string) => {
    await signUpInPage(page, username);
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
