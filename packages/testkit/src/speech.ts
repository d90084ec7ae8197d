// Real audio for voice tests, made at test time: espeak-ng speaks, sox
// resamples to 16 kHz mono s16 (what browsers and LiveKit send after
// resampling) and makes noise. Nothing is committed or downloaded.
import { execFile, execFileSync, spawnSync } from "node:child_process";
import { promisify } from "node:util";

const execFileP = promisify(execFile);

export const SPEECH_SAMPLE_RATE = 16_000;

let available: boolean | undefined;
/** espeak-ng and sox are on PATH. */
export function speechToolsAvailable(): boolean {
  available ??= ["espeak-ng", "sox"].every((cmd) => spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0);
  return available;
}

/**
 * True when the speech tools are there; false to skip the suite — except
 * under REQUIRE_SERVICES=1, where a missing tool is an error (CI installs them).
 */
export function requireSpeechTools(): boolean {
  if (speechToolsAvailable()) return true;
  if (process.env.REQUIRE_SERVICES === "1") {
    throw new Error("REQUIRE_SERVICES=1 but espeak-ng or sox is missing: apt-get install -y espeak-ng sox");
  }
  return false;
}

const SOX_OUT = ["-r", String(SPEECH_SAMPLE_RATE), "-c", "1", "-b", "16", "-e", "signed-integer", "-t", "raw", "-"];

function rawToSamples(raw: Buffer): Int16Array {
  const samples = new Int16Array(raw.length >> 1);
  for (let i = 0; i < samples.length; i++) samples[i] = raw.readInt16LE(i * 2);
  return samples;
}

/** `text` spoken by espeak-ng, as 16 kHz mono samples. `wpm`: speaking rate (espeak's default 175). */
export async function speak(text: string, options: { wpm?: number; voice?: string } = {}): Promise<Int16Array> {
  const espeak = ["espeak-ng", "--stdout", "-s", String(options.wpm ?? 175), "-v", options.voice ?? "en-us", "--", '"$1"'].join(" ");
  const { stdout } = await execFileP("sh", ["-c", `${espeak} | sox -q -t wav - ${SOX_OUT.join(" ")}`, "sh", text], {
    encoding: "buffer",
    maxBuffer: 256 * 1024 * 1024,
  });
  if (stdout.length === 0) throw new Error(`espeak-ng produced no audio for ${JSON.stringify(text)}`);
  return rawToSamples(stdout);
}

/** `ms` of digital silence. */
export function silence(ms: number): Int16Array {
  return new Int16Array(Math.round((ms / 1000) * SPEECH_SAMPLE_RATE));
}

/** `ms` of sox-made noise (`whitenoise`, `pinknoise`, `brownnoise`) at `volume` (0..1 of full scale). */
export async function noise(ms: number, kind: "whitenoise" | "pinknoise" | "brownnoise" = "whitenoise", volume = 0.3): Promise<Int16Array> {
  const { stdout } = await execFileP(
    "sox",
    ["-q", "-n", ...SOX_OUT, "synth", String(ms / 1000), kind, "vol", String(volume)],
    { encoding: "buffer", maxBuffer: 256 * 1024 * 1024 },
  );
  return rawToSamples(stdout);
}

/** Joins pieces of audio. */
export function concatAudio(...parts: Int16Array[]): Int16Array {
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Little-endian bytes of `samples` (what goes into a binary WebSocket frame). */
export function pcmBytes(samples: Int16Array): Buffer {
  const out = Buffer.alloc(samples.length * 2);
  for (let i = 0; i < samples.length; i++) out.writeInt16LE(samples[i]!, i * 2);
  return out;
}

/** Splits audio into frames of `ms` (the last may be shorter), as little-endian bytes. */
export function pcmFrames(samples: Int16Array, ms = 20): Buffer[] {
  const step = Math.round((ms / 1000) * SPEECH_SAMPLE_RATE);
  const frames: Buffer[] = [];
  for (let i = 0; i < samples.length; i += step) frames.push(pcmBytes(samples.subarray(i, i + step)));
  return frames;
}

/**
 * Writes 16 kHz `samples` as a WAV file at `rate`, resampled by sox (Chromium's
 * fake microphone plays a WAV file; real microphones deliver 48 kHz).
 */
export function writeWavFile(path: string, samples: Int16Array, rate = 48_000): void {
  const raw = ["-t", "raw", "-r", String(SPEECH_SAMPLE_RATE), "-e", "signed-integer", "-b", "16", "-c", "1", "-"];
  execFileSync("sox", ["-q", ...raw, "-r", String(rate), "-c", "1", "-b", "16", path], { input: pcmBytes(samples) });
}
