// Configuration is read and validated once, at start; the result is passed
// down. A bad value stops start-up with a message naming the variable.
import { existsSync, readFileSync } from "node:fs";
import { isIP } from "node:net";
import { join, resolve } from "node:path";
import { parseEnv } from "node:util";
import { z } from "zod";
import { AUTH_DEFAULTS, LIMIT_DEFAULTS, type ServerSpeechSettings, type VoiceSettingsInput } from "@tutor/core";
import { parseModelList, type ModelSpec } from "@tutor/llm";

/** Every default in one place. */
export const DEFAULTS = {
  host: "127.0.0.1",
  port: 3000,
  dataDir: "./data",
  logLevel: "info",
  groqBaseUrl: "https://api.groq.com/openai/v1",
  groqModels: "llama-3.3-70b-versatile,llama-3.1-8b-instant",
  groqSttModel: "whisper-large-v3-turbo",
  ttsProvider: "web",
  ttsVoice: "default",
  openaiBaseUrl: "https://api.openai.com/v1",
  ttsModel: "tts-1",
  ttsServerVoice: "alloy",
  turnDeadlineMs: 45_000,
  shutdownGraceMs: 10_000,
  pruneIntervalMs: 60 * 60 * 1000,
  /** Where LOCAL_MODEL=auto downloads from (Hugging Face; node-llama-cpp's downloader resolves hf: URIs against it). */
  modelHubEndpoint: "https://huggingface.co/",
} as const;

export interface Config {
  host: string;
  port: number;
  dataDir: string;
  databaseUrl: string | undefined;
  jwtSecret: string | undefined;
  logLevel: string;
  llm:
    | { configured: true; provider: "groq" | "openai-compatible"; baseUrl: string; apiKey: string; models: ModelSpec[]; fastModel: string }
    | { configured: false; provider: "none" };
  /** LLM_CONTEXT_TOKENS: the models' context window (unset: what a model reports, else the core's 8192). */
  contextTokens: number | undefined;
  /**
   * LOCAL_MODEL: the in-process GGUF model, last in the chain. `auto` (the
   * default when no other model is configured) downloads the default model
   * into DATA_DIR/models from `hubEndpoint` (not an environment variable:
   * tests point it at a local server). `threads`/`sequences`: not environment variables.
   */
  localModel:
    | { kind: "off" }
    | { kind: "path"; path: string; threads?: number | undefined; sequences?: number | undefined }
    | { kind: "auto"; dir: string; hubEndpoint: string; threads?: number | undefined; sequences?: number | undefined };
  stt: { provider: "server"; baseUrl: string; apiKey: string; model: string } | { provider: "browser" };
  /** `defaultVoice`: the browser voice named in web_tts (also the fall-back when the server voice fails). */
  tts:
    | { provider: "web"; defaultVoice: string }
    | { provider: "openai"; defaultVoice: string; baseUrl: string; apiKey: string; model: string; voice: string };
  livekit: { url: string; apiKey: string; apiSecret: string } | undefined;
  /**
   * Per-user budgets (LIMIT_TURNS_PER_HOUR, LIMIT_TOKENS_PER_DAY) and turns running at once (LIMIT_TURNS_RUNNING); 0 = no limit.
   * `turnLeaseMs` (not an environment variable; the core's default when unset):
   * how soon a crashed instance's running-turn slots lapse (tests shorten it).
   */
  limits: { turnsPerHour: number; tokensPerDay: number; turnsRunning: number; turnLeaseMs?: number | undefined };
  /** TRUST_PROXY: proxies whose X-Forwarded-For is believed (addresses, CIDRs, or proxy-addr's names); empty: none. */
  trustProxy: string[];
  /** AUTH_HASH_CONCURRENCY: argon2 hashes at once (unset: half the cores; 0 = unbounded, no queue). */
  hashConcurrency?: number | undefined;
  /** Where the built web app lives (served at /). */
  webDist: string;
  /** Not environment variables: fixed defaults, adjustable by embedding code and tests. */
  turn: { deadlineMs: number; maxTokens?: number | undefined };
  /** Sign-in lifetime (the core's AUTH_DEFAULTS, 24 h) and how often expired tokens and old login failures are pruned. Not environment variables. */
  auth: { tokenTtlSeconds: number; pruneIntervalMs: number };
  /** Voice input tunables over the core's VOICE_DEFAULTS, and the VAD worker threads (default: per core). Not environment variables. */
  voice: { settings: VoiceSettingsInput; vadWorkers: number | undefined; vadModelPath?: string | undefined };
  /** Server voice tunables over the core's SERVER_SPEECH_DEFAULTS. Not environment variables. */
  speech: Partial<ServerSpeechSettings>;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

const httpUrl = (name: string) =>
  z
    .string()
    .trim()
    .refine((v) => /^https?:\/\/[^\s]+$/.test(v) && URL.canParse(v), `${name} must be an http(s) URL`);

const Env = z.object({
  HOST: z.string().trim().min(1, "HOST must not be empty").default(DEFAULTS.host),
  PORT: z.coerce
    .number({ error: "PORT must be a number" })
    .int("PORT must be an integer")
    .min(0, "PORT must be 0..65535")
    .max(65535, "PORT must be 0..65535")
    .default(DEFAULTS.port),
  DATA_DIR: z.string().trim().min(1).default(DEFAULTS.dataDir),
  DATABASE_URL: z
    .string()
    .trim()
    .refine((v) => /^postgres(ql)?:\/\/.+/.test(v), "DATABASE_URL must be a postgres:// or postgresql:// URL")
    .optional(),
  JWT_SECRET: z.string().min(32, "JWT_SECRET must be at least 32 characters").optional(),
  GROQ_API_KEY: z.string().trim().min(1).optional(),
  LLM_BASE_URL: httpUrl("LLM_BASE_URL").optional(),
  LLM_API_KEY: z.string().trim().optional(),
  LLM_MODELS: z.string().trim().optional(),
  LLM_FAST_MODEL: z.string().trim().min(1).optional(),
  LOCAL_MODEL: z.string().trim().optional(),
  LLM_CONTEXT_TOKENS: z.coerce
    .number({ error: "LLM_CONTEXT_TOKENS must be a number of tokens" })
    .int("LLM_CONTEXT_TOKENS must be a whole number of tokens")
    .min(512, "LLM_CONTEXT_TOKENS must be at least 512 tokens")
    .optional(),
  STT_BASE_URL: httpUrl("STT_BASE_URL").optional(),
  STT_API_KEY: z.string().trim().optional(),
  STT_MODEL: z.string().trim().min(1).optional(),
  TTS_PROVIDER: z
    .enum(["web", "openai"], {
      error: "TTS_PROVIDER must be 'web' (the browser speaks each sentence) or 'openai' (a server voice from an OpenAI-compatible /audio/speech server)",
    })
    .default(DEFAULTS.ttsProvider),
  TTS_BASE_URL: httpUrl("TTS_BASE_URL").optional(),
  TTS_API_KEY: z.string().trim().optional(),
  TTS_MODEL: z.string().trim().min(1).optional(),
  TTS_VOICE: z.string().trim().min(1).optional(),
  TTS_DEFAULT_VOICE: z.string().trim().min(1).default(DEFAULTS.ttsVoice),
  LIVEKIT_URL: z
    .string()
    .trim()
    .refine((v) => /^(wss?|https?):\/\/.+/.test(v), "LIVEKIT_URL must be a ws(s):// or http(s):// URL")
    .optional(),
  LIVEKIT_API_KEY: z.string().trim().min(1).optional(),
  LIVEKIT_API_SECRET: z.string().trim().min(1).optional(),
  LIMIT_TURNS_PER_HOUR: budget("LIMIT_TURNS_PER_HOUR", "turns").default(LIMIT_DEFAULTS.turnsPerHour),
  LIMIT_TOKENS_PER_DAY: budget("LIMIT_TOKENS_PER_DAY", "tokens").default(LIMIT_DEFAULTS.tokensPerDay),
  LIMIT_TURNS_RUNNING: budget("LIMIT_TURNS_RUNNING", "turns").default(LIMIT_DEFAULTS.turnsRunning),
  AUTH_HASH_CONCURRENCY: z.coerce
    .number({ error: "AUTH_HASH_CONCURRENCY must be a whole number of password hashes at once (0 = unbounded)" })
    .int("AUTH_HASH_CONCURRENCY must be a whole number of password hashes at once (0 = unbounded)")
    .min(0, "AUTH_HASH_CONCURRENCY must be 0 (unbounded) or more")
    .optional(),
  TRUST_PROXY: z
    .string()
    .trim()
    .transform((v) => v.split(",").map((p) => p.trim()).filter(Boolean))
    .refine(
      (list) => list.every(isProxyEntry),
      "TRUST_PROXY must be a comma list of IP addresses or CIDR ranges (e.g. 10.0.0.1,192.168.0.0/16), or loopback / linklocal / uniquelocal",
    )
    .optional(),
  LOG_LEVEL: z.enum(LOG_LEVELS, { error: `LOG_LEVEL must be one of ${LOG_LEVELS.join(", ")}` }).default("info"),
});

function budget(name: string, unit: string) {
  return z.coerce
    .number({ error: `${name} must be a whole number of ${unit} (0 = no limit)` })
    .int(`${name} must be a whole number of ${unit} (0 = no limit)`)
    .min(0, `${name} must be 0 (no limit) or more`);
}

const PROXY_NAMES = new Set(["loopback", "linklocal", "uniquelocal"]);

/** An address, a CIDR range (`addr/bits`), or one of proxy-addr's names (what Fastify's trustProxy takes). */
function isProxyEntry(entry: string): boolean {
  if (PROXY_NAMES.has(entry)) return true;
  const [addr = "", bits, extra] = entry.split("/");
  const family = isIP(addr);
  if (!family || extra !== undefined) return false;
  if (bits === undefined) return true;
  const n = Number(bits);
  return /^\d+$/.test(bits) && n >= 0 && n <= (family === 4 ? 32 : 128);
}

/** `name[:temperature]`, comma separated (see @tutor/llm parseModelList). */
export function parseModels(value: string, variable = "LLM_MODELS"): ModelSpec[] {
  try {
    return parseModelList(value);
  } catch (err) {
    throw new ConfigError(`${variable}: ${(err as Error).message}`);
  }
}

/** Reads `.env.local` (if present) under the environment: the environment wins. */
export function readEnv(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Record<string, string | undefined> {
  const file = resolve(cwd, ".env.local");
  const fromFile = existsSync(file) ? parseEnv(readFileSync(file, "utf8")) : {};
  return { ...fromFile, ...env };
}

export function loadConfig(env: Record<string, string | undefined> = readEnv()): Config {
  // Empty strings mean "unset" (a blank line in .env.local, `FOO= npm start`).
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = Env.safeParse(cleaned);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${String(i.path[0] ?? "?")}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join("\n")}`);
  }
  const e = parsed.data;

  let llm: Config["llm"] = { configured: false, provider: "none" };
  if (e.LLM_BASE_URL) {
    if (!e.LLM_MODELS) throw new ConfigError("LLM_MODELS: required with LLM_BASE_URL (comma list of name[:temperature])");
    const models = parseModels(e.LLM_MODELS);
    llm = {
      configured: true,
      provider: "openai-compatible",
      baseUrl: e.LLM_BASE_URL.replace(/\/+$/, ""),
      apiKey: e.LLM_API_KEY ?? "",
      models,
      fastModel: e.LLM_FAST_MODEL ?? models[models.length - 1]!.name,
    };
  } else if (e.GROQ_API_KEY) {
    const models = parseModels(e.LLM_MODELS ?? DEFAULTS.groqModels);
    llm = {
      configured: true,
      provider: "groq",
      baseUrl: DEFAULTS.groqBaseUrl,
      apiKey: e.GROQ_API_KEY,
      models,
      fastModel: e.LLM_FAST_MODEL ?? models[models.length - 1]!.name,
    };
  } else if (e.LLM_MODELS) {
    throw new ConfigError("LLM_MODELS: set LLM_BASE_URL (or GROQ_API_KEY) to say where these models are served");
  }

  const dataDir = resolve(e.DATA_DIR);
  const local = e.LOCAL_MODEL ?? (llm.configured ? "off" : "auto");
  let localModel: Config["localModel"] = { kind: "off" };
  if (local.toLowerCase() === "auto") localModel = { kind: "auto", dir: join(dataDir, "models"), hubEndpoint: DEFAULTS.modelHubEndpoint };
  else if (local.toLowerCase() !== "off") {
    if (!/\.gguf$/i.test(local)) throw new ConfigError("LOCAL_MODEL: must be the path of a .gguf file, 'auto' (download the default model) or 'off'");
    localModel = { kind: "path", path: resolve(local) };
  }

  let stt: Config["stt"] = { provider: "browser" };
  if (e.STT_BASE_URL) {
    stt = { provider: "server", baseUrl: e.STT_BASE_URL.replace(/\/+$/, ""), apiKey: e.STT_API_KEY ?? "", model: e.STT_MODEL ?? DEFAULTS.groqSttModel };
  } else if (e.GROQ_API_KEY) {
    stt = { provider: "server", baseUrl: DEFAULTS.groqBaseUrl, apiKey: e.GROQ_API_KEY, model: e.STT_MODEL ?? DEFAULTS.groqSttModel };
  }

  let tts: Config["tts"] = { provider: "web", defaultVoice: e.TTS_DEFAULT_VOICE };
  if (e.TTS_PROVIDER === "openai") {
    if (!e.TTS_BASE_URL && !e.TTS_API_KEY) {
      throw new ConfigError(
        "TTS_BASE_URL: required with TTS_PROVIDER=openai (the speech server, e.g. http://127.0.0.1:8880/v1 for Kokoro-FastAPI), or set TTS_API_KEY to use OpenAI",
      );
    }
    tts = {
      provider: "openai",
      defaultVoice: e.TTS_DEFAULT_VOICE,
      baseUrl: (e.TTS_BASE_URL ?? DEFAULTS.openaiBaseUrl).replace(/\/+$/, ""),
      apiKey: e.TTS_API_KEY ?? "",
      model: e.TTS_MODEL ?? DEFAULTS.ttsModel,
      voice: e.TTS_VOICE ?? DEFAULTS.ttsServerVoice,
    };
  } else if (e.TTS_BASE_URL) {
    throw new ConfigError("TTS_BASE_URL: set TTS_PROVIDER=openai to use that speech server (unset, the browser speaks)");
  }

  const lk = [e.LIVEKIT_URL, e.LIVEKIT_API_KEY, e.LIVEKIT_API_SECRET];
  if (lk.some(Boolean) && !lk.every(Boolean)) {
    throw new ConfigError("LIVEKIT_URL, LIVEKIT_API_KEY and LIVEKIT_API_SECRET must be set together");
  }

  return {
    host: e.HOST,
    port: e.PORT,
    dataDir,
    databaseUrl: e.DATABASE_URL,
    jwtSecret: e.JWT_SECRET,
    logLevel: e.LOG_LEVEL,
    llm,
    contextTokens: e.LLM_CONTEXT_TOKENS,
    localModel,
    stt,
    tts,
    livekit: e.LIVEKIT_URL ? { url: e.LIVEKIT_URL, apiKey: e.LIVEKIT_API_KEY!, apiSecret: e.LIVEKIT_API_SECRET! } : undefined,
    limits: { turnsPerHour: e.LIMIT_TURNS_PER_HOUR, tokensPerDay: e.LIMIT_TOKENS_PER_DAY, turnsRunning: e.LIMIT_TURNS_RUNNING },
    trustProxy: e.TRUST_PROXY ?? [],
    hashConcurrency: e.AUTH_HASH_CONCURRENCY,
    webDist: resolve(import.meta.dirname, "../../web/dist"),
    turn: { deadlineMs: DEFAULTS.turnDeadlineMs },
    auth: { tokenTtlSeconds: AUTH_DEFAULTS.tokenTtlSeconds, pruneIntervalMs: DEFAULTS.pruneIntervalMs },
    voice: { settings: {}, vadWorkers: undefined },
    speech: {},
  };
}
