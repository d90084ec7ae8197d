// The server voice in real Chromium (TTS_PROVIDER=openai): the real server
// process asks the local fake speech server, which speaks every sentence with
// espeak-ng, and sends it over the WebSocket as `speech_audio` + PCM; the page
// plays it with Web Audio. An audio tap (audio-tap.ts) counts what the page's
// AudioContext actually renders with energy, so "it played" means sound came
// out, not that a message arrived. The browser's own speechSynthesis is the
// harness's recorder (with voices): it must stay unused.
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
  startFakeTts,
  sttBehave,
  ttsBehave,
  writeWavFile,
  type FakeLlm,
  type FakeStt,
  type FakeSttRequest,
  type FakeTts,
} from "@tutor/testkit";
import { installAudioTap, sentencesReceived, tapReading, voicedSeconds, wsLog, type WsRecord } from "./audio-tap.js";
import { askInPage, fakeMicArgs, lastUserText, signUpInPage, titleOrYes } from "./flows.js";
import { chromiumAvailable, closeBrowsers, ensureWebBuilt, launchBrowser, screenshot, speechRecorderScript, spoken, startServerProcess, type Browser, type ServerProcess } from "./harness.js";

const BIG = "tutor-big";
const FAST = "tutor-fast";

const QUEUE_Q = "What is a queue?";
const QUEUE_SENTENCES = ["A queue is first in, first out.", "You add at the back and take from the front.", "A printer's jobs wait in one."];

const STACK_Q = "What is a stack?";
const STACK_ANSWER = "A stack is last in, first out. The newest plate is the first one you take.";
const HEAP_Q = "What is a heap?";
const HEAP_ANSWER = "A heap keeps its smallest key at the root. Taking it out and adding a key both take logarithmic time.";

/** Long enough (about half a minute of speech) to still be playing while the test acts. */
const HASH_Q = "Tell me all about hash tables";
const HASH_SENTENCES = [
  "A hash table stores each key in a bucket chosen by a hash function of that key.",
  "Looking a key up computes the same hash and checks only that bucket, so it usually takes constant time.",
  "Two keys can land in the same bucket, which is called a collision, and the table must handle it.",
  "Chaining keeps a small list in every bucket, while open addressing probes for the next free slot.",
  "When the table fills up past its load factor, it grows and every key is hashed again into the bigger array.",
  "A good hash function spreads the keys evenly, otherwise one long bucket makes every lookup slow.",
];
/** The unique part of the last hash-table sentence (the fake speech server delays it in the Stop test). */
const HASH_LAST = "A good hash function spreads the keys evenly";

const BARGE_Q = "How do I delete a node from a binary search tree?";
const BARGE_ANSWER = "Replace the node with its in-order successor, then delete the successor from the right subtree.";

const available = chromiumAvailable() && requireSpeechTools();

/** Generous: the machine running this is slow and busy. */
const eventually = <T>(fn: () => T | Promise<T>, timeout = 45_000) => expect.poll(fn, { timeout, interval: 100 });
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

function heardSpeech(r: FakeSttRequest): boolean {
  return r.wav !== undefined && r.wav.durationMs > 1000 && r.wav.rms > 0.01;
}

/** The answer's message id (its `ai_response`) to the question whose answer contains `text`. */
function answerId(received: WsRecord[], text: string): string | undefined {
  return received.find((r) => r.type === "ai_response" && r.text?.includes(text))?.message_id;
}

describe.skipIf(!available)("the server voice in Chromium", () => {
  let llm: FakeLlm;
  let stt: FakeStt;
  let tts: FakeTts;
  let server: ServerProcess;
  let dir: string;
  let bargeWav: string;
  const browsers: Browser[] = [];
  const pageErrors: string[] = [];

  beforeAll(async () => {
    ensureWebBuilt();
    dir = mkdtempSync(join(tmpdir(), "tutor-server-voice-e2e-"));
    // The student's question for the barge-in test: the fake microphone plays it once as hands-free starts.
    bargeWav = join(dir, "barge-48k.wav");
    writeWavFile(bargeWav, concatAudio(silence(500), await speak(BARGE_Q), silence(2000)));

    llm = await startFakeLlm({ models: [BIG, FAST] });
    llm.setDefault(FAST, titleOrYes("Data structures"));
    llm.setDefault(
      BIG,
      behave.compute((req) => {
        const q = lastUserText(req);
        if (q.includes(QUEUE_Q)) return behave.reply(QUEUE_SENTENCES.join(" "), { chunkDelayMs: 10 });
        if (q.includes(STACK_Q)) return behave.reply(STACK_ANSWER, { chunkDelayMs: 10 });
        if (q.includes(HEAP_Q)) return behave.reply(HEAP_ANSWER, { chunkDelayMs: 10 });
        if (q.includes(HASH_Q)) return behave.reply(HASH_SENTENCES.join(" "), { chunkDelayMs: 5 });
        if (q.includes(BARGE_Q)) return behave.reply(BARGE_ANSWER, { chunkDelayMs: 10 });
        return behave.reply("That is a fine question about computing.");
      }),
    );
    stt = await startFakeStt();
    tts = await startFakeTts();
    server = await startServerProcess({
      llmUrl: llm.url,
      models: [BIG, FAST],
      fastModel: FAST,
      env: {
        STT_BASE_URL: stt.url,
        STT_API_KEY: "test",
        STT_MODEL: "whisper-test",
        TTS_PROVIDER: "openai",
        TTS_BASE_URL: tts.url,
        TTS_API_KEY: "test",
        TTS_MODEL: "kokoro",
        TTS_VOICE: "af_heart",
      },
    });
  });

  afterEach(async (ctx) => {
    await closeBrowsers(browsers, ctx, "failed-server-voice");
    expect(pageErrors.splice(0)).toEqual([]);
    tts.reset();
    stt.reset();
  });

  afterAll(async () => {
    await closeBrowsers(browsers);
    await server?.stop();
    await llm?.close();
    await stt?.close();
    await tts?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** A browser (with `mic` flags) and a page whose audio tap and WebSocket recorder are installed before the app loads. */
  const open = async (opts: { mic?: string[]; voices?: boolean } = {}) => {
    const browser = await launchBrowser(undefined, opts.mic ?? [], { bypassCSP: true });
    browsers.push(browser);
    const page = await browser.context.newPage();
    page.on("pageerror", (err) => pageErrors.push(err.message));
    // The harness's speechSynthesis recorder, by default with voices: the browser voice is there to be (wrongly) used.
    await page.addInitScript(speechRecorderScript({ voices: opts.voices ?? true }));
    await installAudioTap(page);
    await page.goto(server.url);
    return { browser, page };
  };

  const signUp = async (page: Page, username: string) => {
    await signUpInPage(page, `${username}_${Date.now().toString(36)}`);
    await page.getByLabel("Your question").waitFor();
    await eventually(() => page.getByLabel("Your question").isEnabled()).toBe(true);
  };

  const speakingShown = (page: Page) => page.getByText("Speaking…").count();

  /** Waits until the answer containing `text` was completely received as speech and has finished playing. */
  const untilPlayed = async (page: Page, text: string) => {
    await eventually(async () => {
      const { received } = await wsLog(page);
      const id = answerId(received, text);
      return id !== undefined && received.some((r) => r.type === "tts_complete" && r.message_id === id);
    }).toBe(true);
    await eventually(() => speakingShown(page)).toBe(0);
  };

  const sentencesOf = async (page: Page, text: string) => {
    const { received } = await wsLog(page);
    const id = answerId(received, text);
    return sentencesReceived(received).filter((s) => s.header.message_id === id);
  };

  const voicedIn = (sentences: { audio: WsRecord | undefined }[]) => sentences.reduce((sum, s) => sum + (s.audio?.pcmVoiced ?? 0), 0);

  it("plays each sentence of the answer from the server's audio, never with speechSynthesis, at the chosen volume and speed", async () => {
    const { page } = await open();
    await signUp(page, "ada");
    await askInPage(page, QUEUE_Q);
    await page.getByText("Speaking…").waitFor({ timeout: 45_000 });
    await untilPlayed(page, QUEUE_SENTENCES[2]!);

    // Three sentences arrived as speech_audio, each followed by its PCM (real speech).
    const got = await sentencesOf(page, QUEUE_SENTENCES[0]!);
    expect(got.map((s) => [s.header.seq, s.header.text])).toEqual(QUEUE_SENTENCES.map((t, i) => [i, t]));
    for (const s of got) expect(s.audio?.pcmVoiced).toBeGreaterThan(0.3);
    // The page rendered about as much voiced sound as the three sentences hold: all of them, once.
    const expected = voicedIn(got);
    const played = await voicedSeconds(page);
    expect(played).toBeGreaterThan(expected * 0.8);
    expect(played).toBeLessThan(expected * 1.25 + 0.1);

    // The browser's own voice was never used, and no web_tts came.
    expect(await spoken(page)).toEqual([]);
    const { received, sent } = await wsLog(page);
    expect(received.filter((r) => r.type === "web_tts")).toEqual([]);
    // The server was told it played, and when it stopped: after the sound had been heard.
    const id = answerId(received, QUEUE_SENTENCES[0]!);
    const states = sent.filter((s) => s.type === "playback_state");
    expect(states.map((s) => [s.speaking, s.message_id ?? null])).toEqual([
      [true, id],
      [false, null],
    ]);
    expect(states[1]!.voiced).toBeGreaterThan(expected * 0.8);

    // The voice settings of the server voice: rate and volume (screenshots at phone width, light and dark).
    await page.setViewportSize({ width: 375, height: 740 });
    await page.getByRole("button", { name: "Voice settings" }).click();
    const panel = page.getByRole("group", { name: "Voice settings" });
    await panel.waitFor();
    await screenshot(page, "server-voice-1-settings-375");
    await page.emulateMedia({ colorScheme: "dark" });
    await screenshot(page, "server-voice-2-settings-375-dark");
    await page.emulateMedia({ colorScheme: "light" });

    // Volume 0: the next answer plays (audio is rendered) but nothing is heard.
    await panel.getByRole("slider", { name: "Volume" }).fill("0");
    await eventually(() => panel.getByText("0%", { exact: true }).count()).toBe(1);
    await page.keyboard.press("Escape");
    const beforeMuted = await tapReading(page);
    await askInPage(page, STACK_Q);
    await untilPlayed(page, STACK_ANSWER);
    const afterMuted = await tapReading(page);
    expect(voicedIn(await sentencesOf(page, STACK_ANSWER))).toBeGreaterThan(1);
    expect(afterMuted.rendered - beforeMuted.rendered).toBeGreaterThan(1);
    expect(afterMuted.voiced - beforeMuted.voiced).toBeLessThan(0.05);

    // Full volume at twice the speed: all of the answer is heard, in about half its time.
    await page.getByRole("button", { name: "Voice settings" }).click();
    await panel.getByRole("slider", { name: "Volume" }).fill("1");
    await panel.getByRole("slider", { name: "Rate" }).fill("2");
    await eventually(() => panel.getByText("2.0×", { exact: true }).count()).toBe(1);
    await page.keyboard.press("Escape");
    await askInPage(page, HEAP_Q);
    await untilPlayed(page, HEAP_ANSWER);
    const heap = voicedIn(await sentencesOf(page, HEAP_ANSWER));
    const fast = (await voicedSeconds(page)) - afterMuted.voiced;
    expect(fast).toBeGreaterThan(heap * 0.35);
    expect(fast).toBeLessThan(heap * 0.65);
    expect(await spoken(page)).toEqual([]);
  });

  it("Stop speaking silences the server voice at once, and the server stops sending it", async () => {
    // The last sentence takes the speech server a while: it is still being made when Stop is pressed.
    tts.scriptFor(HASH_LAST, ttsBehave.speak({ delayMs: 8000 }));
    // A browser without voices of its own: the server voice needs none, so speech stays on.
    const { page } = await open({ voices: false });
    await signUp(page, "grace");
    await askInPage(page, HASH_Q);
    // The whole answer is shown (nothing is generating any more) and its voice is being heard.
    await page.locator(".message-ai:not(.message-streaming)", { hasText: "A hash table stores each key" }).waitFor({ timeout: 45_000 });
    await eventually(() => voicedSeconds(page)).toBeGreaterThan(0.5);
    const stop = page.getByRole("button", { name: "Stop speaking" });
    const clickedAt = await page.evaluate(() => performance.now());
    await stop.click();
    const atClick = await voicedSeconds(page);

    // Silence in the page: once the last render reports are in, the tap hears nothing more.
    await eventually(() => speakingShown(page)).toBe(0);
    await pause(1000);
    const settled = await voicedSeconds(page);
    await pause(2500);
    expect((await voicedSeconds(page)) - settled).toBeLessThan(0.05);
    // Most of what had arrived was never played.
    const received = await sentencesOf(page, HASH_SENTENCES[0]!);
    expect(received.length).toBeGreaterThanOrEqual(2);
    expect(settled).toBeLessThan(voicedIn(received) * 0.5);
    expect(settled - atClick).toBeLessThan(voicedIn(received) * 0.25);

    // The server heard it: playback stopped, the answer's speech cancelled…
    const { sent } = await wsLog(page);
    const afterClick = sent.filter((s) => s.at >= clickedAt);
    expect(afterClick.some((s) => s.type === "playback_state" && s.speaking === false)).toBe(true);
    expect(afterClick.some((s) => s.type === "cancel_response")).toBe(true);
    // …so the sentence still being made was abandoned and never sent.
    const last = tts.requests.find((r) => r.input.includes(HASH_LAST));
    expect(last).toBeDefined();
    expect(await last!.settled).toBe("client_closed");
    await pause(1000);
    expect((await sentencesOf(page, HASH_SENTENCES[0]!)).some((s) => s.header.text?.includes(HASH_LAST))).toBe(false);
    expect(await spoken(page)).toEqual([]);
    // Seconds after the page gave up waiting for browser voices (2.5 s), speaking answers is still on.
    const toggle = page.getByRole("button", { name: "Speak answers" });
    expect(await toggle.getAttribute("aria-pressed")).toBe("true");
    expect(await toggle.isEnabled()).toBe(true);
    expect(await page.getByText("Speech unavailable").count()).toBe(0);
    await screenshot(page, "server-voice-3-stopped");
  });

  it("hands-free: speaking over the server voice stops it, and the new question is transcribed and answered", async () => {
    // A slow transcription: between the barge-in and the transcript, only the barge-in can have silenced the tutor.
    stt.setDefault(sttBehave.compute((r) => (heardSpeech(r) ? sttBehave.reply(BARGE_Q, { delayMs: 3000 }) : "")));
    const { page } = await open({ mic: fakeMicArgs(bargeWav) });
    await signUp(page, "edsger");
    await askInPage(page, HASH_Q);
    // The tutor has sent all its audio (nothing is generating or being synthesised) and is being heard.
    await eventually(async () => (await wsLog(page)).received.some((r) => r.type === "tts_complete")).toBe(true);
    await eventually(() => voicedSeconds(page)).toBeGreaterThan(0.3);
    expect(await speakingShown(page)).toBe(1);
    const hashId = answerId((await wsLog(page)).received, HASH_SENTENCES[0]!);
    expect(hashId).toBeDefined();

    // The student turns hands-free on and asks over the tutor's voice (the fake microphone plays the question).
    await page.getByRole("switch", { name: "Hands-free" }).click();
    await eventually(async () => (await wsLog(page)).received.some((r) => r.type === "barge_in"), 60_000).toBe(true);
    const transcript = page.getByTestId("voice-transcript");
    await eventually(() => transcript.textContent(), 60_000).toContain(BARGE_Q);
    await eventually(() => page.locator(".message-user").last().textContent()).toContain(BARGE_Q);
    await eventually(() => page.locator(".answer").last().textContent()).toContain("in-order successor");
    await untilPlayed(page, BARGE_ANSWER);

    const { received, sent } = await wsLog(page);
    // The server treated it as speech over the answer being played (the sustained-speech echo rule applied):
    // the barge-in names the answer the page said it was playing.
    const barge = received.find((r) => r.type === "barge_in")!;
    expect(barge.message_id).toBe(hashId);
    expect(sent.some((s) => s.type === "playback_state" && s.speaking === true && s.message_id === hashId && s.at < barge.at)).toBe(true);
    // The tutor's voice stopped at the barge-in: hardly anything was heard until the transcript came.
    const final = received.find((r) => r.type === "transcription" && r.final === true && r.text === BARGE_Q)!;
    expect(final).toBeDefined();
    const hashHeard = final.voiced;
    expect(hashHeard - barge.voiced).toBeLessThan(1);
    expect(hashHeard).toBeLessThan(voicedIn(sentencesReceived(received).filter((s) => s.header.message_id === hashId)) * 0.5);
    // The new answer was heard in full.
    const bargeAnswer = voicedIn(sentencesReceived(received).filter((s) => s.header.message_id === answerId(received, BARGE_ANSWER)));
    expect(bargeAnswer).toBeGreaterThan(1);
    expect((await voicedSeconds(page)) - hashHeard).toBeGreaterThan(bargeAnswer * 0.8);
    // The transcription server got the student's question, and the browser never spoke.
    expect(stt.requests.some(heardSpeech)).toBe(true);
    expect(await spoken(page)).toEqual([]);
    await screenshot(page, "server-voice-4-barge-in");
  });
});
