// Speaking to the tutor in real Chromium through LiveKit: a real LiveKit
// server in dev mode, our agent worker, the app server offering LiveKit. The
// page signs up over the WebSocket, moves to the LiveKit room once the agent
// is ready, publishes the fake microphone (an espeak-ng question) and gets
// the transcript and the answer over the data channel.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Page } from "playwright-core";
import { behave, concatAudio, requireSpeechTools, silence, speak, startFakeLlm, startFakeStt, sttBehave, writeWavFile, type FakeLlm, type FakeStt } from "@tutor/testkit";
import { liveKitEnv, liveKitServerOrSkip, startAgentBeside, startLiveKit, type AgentProcess, type LiveKitServer } from "../../agent/src/test-harness.js";
import { fakeMicArgs, signUpInPage, titleOrYes } from "./flows.js";
import { chromiumAvailable, ensureWebBuilt, launchBrowser, newPage, screenshot, startServerProcess, type Browser, type ServerProcess } from "./harness.js";

const BIG = "tutor-big";
const FAST = "tutor-fast";
const QUESTION = "What is a binary search tree?";
const ANSWER = "A binary search tree keeps smaller keys to the left of each node and larger keys to the right, so a lookup follows one path down.";

// All checked at load: under REQUIRE_SERVICES=1 a missing one fails the suite.
const available = chromiumAvailable() && requireSpeechTools() && liveKitServerOrSkip() !== undefined;

const eventually = <T>(fn: () => T | Promise<T>, timeout = 45_000) => expect.poll(fn, { timeout, interval: 100 });

describe.skipIf(!available)("voice in Chromium through LiveKit", () => {
  let lk: LiveKitServer;
  let llm: FakeLlm;
  let stt: FakeStt;
  let server: ServerProcess;
  let agent: AgentProcess;
  let dir: string;
  let wav: string;
  let browser: Browser | undefined;
  let page: Page | undefined;
  const console: string[] = [];
  const pageErrors: string[] = [];

  beforeAll(async () => {
    ensureWebBuilt();
    dir = mkdtempSync(join(tmpdir(), "tutor-voice-lk-"));
    // The track is published a moment after the fake device starts: a second of silence first, silence after.
    wav = join(dir, "q48.wav");
    writeWavFile(wav, concatAudio(silence(1500), await speak(QUESTION), silence(2000)));
    lk = await startLiveKit(liveKitServerOrSkip()!);
    llm = await startFakeLlm({ models: [BIG, FAST] });
    llm.setDefault(FAST, titleOrYes("Binary search trees"));
    llm.setDefault(BIG, behave.reply(ANSWER, { chunkDelayMs: 20 }));
    stt = await startFakeStt();
    stt.setDefault(sttBehave.compute((r) => (r.wav && r.wav.durationMs > 1000 && r.wav.rms > 0.01 ? QUESTION : "")));
    const env = {
      ...liveKitEnv(lk),
      STT_BASE_URL: stt.url,
      STT_API_KEY: "test",
      STT_MODEL: "whisper-test",
    };
    server = await startServerProcess({ llmUrl: llm.url, models: [BIG, FAST], fastModel: FAST, env });
    agent = await startAgentBeside({ env, dataDir: server.dataDir, llmUrl: llm.url, models: [BIG, FAST] });
  });

  afterEach(async (ctx) => {
    if (ctx.task.result?.state === "fail") {
      if (page) await screenshot(page, "failed-voice-livekit").catch(() => {});
      // What the agent said is the first thing to read when the room did not work.
      process.stderr.write(`----- agent\n${agent?.output().slice(-8000) ?? ""}\n----- page console\n${console.join("\n").slice(-4000)}\n`);
    }
    expect(pageErrors.splice(0)).toEqual([]);
  });

  afterAll(async () => {
    await browser?.close().catch(() => {});
    await agent?.stop();
    await server?.stop();
    await lk?.stop();
    await llm?.close();
    await stt?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("signs up, moves to the LiveKit room, and a spoken question is transcribed and answered there", async () => {
    browser = await launchBrowser(undefined, fakeMicArgs(wav));
    page = await newPage(browser);
    page.on("console", (m) => console.push(m.text()));
    page.on("pageerror", (err) => pageErrors.push(err.message));
    await page.goto(server.url);
    await signUpInPage(page, "lkspeaker");
    // The sign-up went over the WebSocket; the app then joins its room and moves once the agent is ready.
    await eventually(() => console.join("\n"), 30_000).toContain("[tutor] carrier: livekit");
    await eventually(() => page!.getByLabel("Your question").isEnabled()).toBe(true);

    const before = stt.requests.length;
    await page.getByRole("switch", { name: "Hands-free" }).click();
    await eventually(() => page!.getByRole("switch", { name: "Hands-free" }).getAttribute("aria-checked")).toBe("true");
    await eventually(() => page!.getByTestId("voice-transcript").textContent(), 60_000).toContain(QUESTION);
    await eventually(() => page!.locator(".message-user").last().textContent()).toContain(QUESTION);
    await eventually(() => page!.locator(".answer").last().textContent()).toContain("lookup follows one path down");
    await screenshot(page, "voice-6-livekit-answered");

    const got = stt.requests.slice(before);
    expect(got.length).toBeGreaterThanOrEqual(1);
    expect(got[0]!.wavError).toBeUndefined();
    expect(got[0]!.wav!.durationMs).toBeGreaterThan(1200);
    expect(got[0]!.wav!.rms).toBeGreaterThan(0.01);
    // The WebSocket was left: the answer came through the room.
    expect(console.join("\n")).not.toContain("livekit_failed");
  });
});
