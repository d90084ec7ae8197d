// The TextToSpeech port over any OpenAI-compatible `POST /audio/speech`
// (Kokoro-FastAPI, Speaches, openedai-speech, OpenAI). Asks for
// `response_format: "pcm"` (24 kHz mono s16le, no header); a server that only
// speaks WAV is read from its header and converted. One call = one attempt
// with its own deadline (the whole audio must arrive by then); giving up and
// resting the voice belongs to the core (ServerSpeech). Failures are the chat
// adapter's LlmError kinds; a body that is not audio, is empty, or whose
// length cannot be speech of the text is "bad_response".
import { Agent, type Dispatcher } from "undici";
import { LlmError, TTS_SAMPLE_RATE, type SpeechAudio, type SynthesizeOptions, type TextToSpeech } from "@tutor/core";
import { AudioFormatError, decodePcm16, decodeWav, isSilent, looksLikeWav, resample, type DecodedAudio } from "./audio.js";
import { Attempt, postForOk } from "./openai-chat.js";

export interface OpenAISpeechOptions {
  baseURL: string;
  /** Local servers usually need none; a placeholder is sent then. */
  apiKey?: string;
  model: string;
  voice: string;
  /** Per attempt when the caller gives no `timeoutMs`. */
  timeoutMs?: number;
}

/** Bounds of plausible speech per character of text (OpenAI voices ~0.06 s/char at speed 1). */
const MIN_SECONDS_PER_CHAR = 0.012;
const MAX_SECONDS_PER_CHAR = 0.3;
const MAX_EXTRA_SECONDS = 5;
/** A sentence is at most a few hundred characters: audio beyond this is not an answer to it. */
const MAX_BODY_BYTES = 32 * 1024 * 1024;

const WAV_TYPES = new Set(["audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave"]);
const PCM_TYPES = new Set(["audio/pcm", "audio/l16", "audio/raw", "application/octet-stream", "audio/x-raw"]);

let sharedAgent: Agent | undefined;
const agent = (): Agent => (sharedAgent ??= new Agent());

export function createOpenAISpeech(opts: OpenAISpeechOptions): TextToSpeech {
  const model = opts.model;
  const url = new URL(`${opts.baseURL.replace(/\/+$/, "")}/audio/speech`);
  const headers = {
    "content-type": "application/json",
    accept: "audio/pcm, audio/wav;q=0.9",
    authorization: `Bearer ${opts.apiKey || "no-key"}`,
  };

  return {
    model,
    voice: opts.voice,
    async synthesize(text: string, o: SynthesizeOptions): Promise<SpeechAudio> {
      const attempt = new Attempt(model, o.signal, o.timeoutMs ?? opts.timeoutMs);
      let res: Dispatcher.ResponseData;
      let body: Buffer;
      let ok = false;
      try {
        // The whole audio must arrive within the attempt's time: the timer is never paused.
        attempt.arm();
        const request = JSON.stringify({
          model,
          input: text,
          voice: o.voice ?? opts.voice,
          response_format: "pcm",
          ...(o.speed !== undefined && o.speed !== 1 ? { speed: o.speed } : {}),
        });
        res = await postForOk(agent(), url, headers, request, model, attempt);
        try {
          body = await readLimited(res.body, MAX_BODY_BYTES, model);
        } catch (err) {
          if (err instanceof LlmError) throw err;
          throw attempt.toLlmError(err, "body");
        }
        ok = true;
      } catch (err) {
        attempt.throwIfInterrupted();
        throw err;
      } finally {
        attempt.dispose(!ok);
      }
      attempt.throwIfInterrupted();
      const contentType = headerValue(res.headers["content-type"]);
      return toSpeech(model, text, body, contentType);
    },
  };
}

/** The body as 24 kHz mono s16, or the reason it is not speech of `text`. */
export function toSpeech(model: string, text: string, body: Uint8Array, contentType: string): SpeechAudio {
  const bad = (why: string) => new LlmError("bad_response", model, `${model} sent ${why}`);
  if (body.length === 0) throw bad("an empty body instead of audio");
  const [mime = "", ...params] = contentType.toLowerCase().split(";").map((p) => p.trim());
  let decoded: DecodedAudio;
  try {
    if (looksLikeWav(body)) decoded = decodeWav(body);
    else if (WAV_TYPES.has(mime)) throw bad("a body that is not a WAV file although it says audio/wav");
    else if (PCM_TYPES.has(mime) || mime === "") {
      const rate = Number(params.find((p) => p.startsWith("rate="))?.slice(5) ?? TTS_SAMPLE_RATE);
      if (!Number.isInteger(rate) || rate < 8000 || rate > 192_000) throw bad(`raw audio at an unusable rate (${contentType})`);
      decoded = decodePcm16(body, rate);
    } else throw bad(`${mime} instead of audio (asked for pcm or wav)`);
  } catch (err) {
    if (err instanceof AudioFormatError) throw bad(`audio that cannot be read: ${err.message}`);
    throw err;
  }
  const seconds = decoded.samples.length / decoded.sampleRate;
  const chars = text.length;
  if (seconds < chars * MIN_SECONDS_PER_CHAR) throw bad(`${seconds.toFixed(2)} s of audio for ${chars} characters: too short to be their speech`);
  if (seconds > MAX_EXTRA_SECONDS + chars * MAX_SECONDS_PER_CHAR) throw bad(`${seconds.toFixed(1)} s of audio for ${chars} characters: too long to be their speech`);
  if (isSilent(decoded.samples)) throw bad("silence instead of speech");
  return { samples: resample(decoded.samples, decoded.sampleRate, TTS_SAMPLE_RATE), sampleRate: TTS_SAMPLE_RATE };
}

async function readLimited(body: Dispatcher.ResponseData["body"], limit: number, model: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      body.destroy();
      throw new LlmError("bad_response", model, `${model} sent more than ${limit} bytes for one sentence`);
    }
    parts.push(chunk);
  }
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts, size);
}

function headerValue(v: string | string[] | undefined): string {
  return (Array.isArray(v) ? v[0] : v) ?? "";
}
