// Configuration: defaults, .env.local under the environment, and start-up
// refusals that name the variable at fault.
import { spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, DEFAULTS, loadConfig, parseModels, readEnv } from "./config.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "tutor-config-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("configuration", () => {
  it("runs with nothing set: loopback, port 3000, SQLite in ./data, no model", () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ host: "127.0.0.1", port: 3000, databaseUrl: undefined, llm: { configured: false }, stt: { provider: "browser" }, livekit: undefined });
    expect(c.dataDir).toBe(resolve("./data"));
  });

  it("LOCAL_MODEL: auto by default with no other model, off by default with one, a path or off when given", () => {
    expect(loadConfig({ DATA_DIR: "/srv/tutor" }).localModel).toMatchObject({ kind: "auto", dir: "/srv/tutor/models", hubEndpoint: DEFAULTS.modelHubEndpoint });
    expect(loadConfig({ GROQ_API_KEY: "gsk_test" }).localModel).toEqual({ kind: "off" });
    expect(loadConfig({ GROQ_API_KEY: "gsk_test", LOCAL_MODEL: "auto" }).localModel).toMatchObject({ kind: "auto" });
    expect(loadConfig({ LOCAL_MODEL: "/models/x.gguf" }).localModel).toEqual({ kind: "path", path: "/models/x.gguf" });
    expect(loadConfig({ LOCAL_MODEL: "off" }).localModel).toEqual({ kind: "off" });
    expect(loadConfig({ LLM_CONTEXT_TOKENS: "2048" }).contextTokens).toBe(2048);
  });

  it("uses Groq when GROQ_API_KEY is set, with the default model order and fast model", () => {
    const c = loadConfig({ GROQ_API_KEY: "gsk_test" });
    expect(c.llm).toMatchObject({ configured: true, provider: "groq", baseUrl: DEFAULTS.groqBaseUrl, fastModel: "llama-3.1-8b-instant" });
    expect(c.llm.configured && c.llm.models.map((m) => m.name)).toEqual(["llama-3.3-70b-versatile", "llama-3.1-8b-instant"]);
    expect(c.stt).toMatchObject({ provider: "server", model: "whisper-large-v3-turbo" });
  });

  it("reads the per-user budgets (defaults 120 turns an hour, 1,000,000 tokens a day; 0 = no limit) and TRUST_PROXY", () => {
    expect(loadConfig({})).toMatchObject({ limits: { turnsPerHour: 120, tokensPerDay: 1_000_000, turnsRunning: 2 }, trustProxy: [] });
    expect(loadConfig({}).hashConcurrency).toBeUndefined();
    expect(loadConfig({ LIMIT_TURNS_PER_HOUR: "0", LIMIT_TOKENS_PER_DAY: "5000", LIMIT_TURNS_RUNNING: "1" }).limits).toEqual({
      turnsPerHour: 0,
      tokensPerDay: 5000,
      turnsRunning: 1,
    });
    expect(loadConfig({ AUTH_HASH_CONCURRENCY: "0" }).hashConcurrency).toBe(0);
    expect(loadConfig({ AUTH_HASH_CONCURRENCY: "3" }).hashConcurrency).toBe(3);
    expect(loadConfig({ TRUST_PROXY: "10.0.0.1, 192.168.0.0/16,::1,fd00::/8,loopback" }).trustProxy).toEqual([
      "10.0.0.1",
      "192.168.0.0/16",
      "::1",
      "fd00::/8",
      "loopback",
    ]);
  });

  it.each([
    [{ LIMIT_TURNS_PER_HOUR: "-1" }, /LIMIT_TURNS_PER_HOUR: .*0 \(no limit\) or more/],
    [{ LIMIT_TURNS_PER_HOUR: "lots" }, /LIMIT_TURNS_PER_HOUR: .*whole number of turns/],
    [{ LIMIT_TOKENS_PER_DAY: "1.5" }, /LIMIT_TOKENS_PER_DAY: .*whole number of tokens/],
    [{ LIMIT_TURNS_RUNNING: "-2" }, /LIMIT_TURNS_RUNNING: .*0 \(no limit\) or more/],
    [{ AUTH_HASH_CONCURRENCY: "half" }, /AUTH_HASH_CONCURRENCY: .*whole number of password hashes/],
    [{ AUTH_HASH_CONCURRENCY: "-1" }, /AUTH_HASH_CONCURRENCY: .*0 \(unbounded\) or more/],
    [{ TRUST_PROXY: "10.0.0.300" }, /TRUST_PROXY: .*IP addresses or CIDR ranges/],
    [{ TRUST_PROXY: "10.0.0.0/33" }, /TRUST_PROXY/],
    [{ TRUST_PROXY: "proxy.example.com" }, /TRUST_PROXY/],
  ])("refuses a bad limit or proxy setting %o, naming the variable", (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it("parses LLM_MODELS as name[:temperature]", () => {
    expect(parseModels("a:0.7, b ,qwen2.5:7b")).toEqual([{ name: "a", temperature: 0.7 }, { name: "b" }, { name: "qwen2.5:7b" }]);
    expect(() => parseModels("a:3")).toThrow(/^LLM_MODELS: .*"a:3".*0 to 2/);
    expect(() => parseModels("a,,b")).toThrow(/^LLM_MODELS: .*empty/);
  });

  it.each([
    [{ PORT: "eighty" }, /PORT/],
    [{ PORT: "70000" }, /PORT/],
    [{ DATABASE_URL: "mysql://x" }, /DATABASE_URL/],
    [{ JWT_SECRET: "short" }, /JWT_SECRET/],
    [{ LLM_BASE_URL: "not a url", LLM_MODELS: "m" }, /LLM_BASE_URL/],
    [{ LLM_BASE_URL: "http://127.0.0.1:1/v1" }, /LLM_MODELS/],
    [{ LLM_MODELS: "m" }, /LLM_MODELS/],
    [{ LIVEKIT_URL: "ws://127.0.0.1:7880" }, /LIVEKIT_URL, LIVEKIT_API_KEY and LIVEKIT_API_SECRET/],
    [{ LOG_LEVEL: "loud" }, /LOG_LEVEL/],
    [{ TTS_PROVIDER: "robot" }, /TTS_PROVIDER/],
    [{ TTS_PROVIDER: "http://127.0.0.1:8880/v1" }, /TTS_PROVIDER must be 'web' .* or 'openai'/],
    [{ TTS_PROVIDER: "openai" }, /TTS_BASE_URL: required with TTS_PROVIDER=openai/],
    [{ TTS_PROVIDER: "openai", TTS_BASE_URL: "localhost:8880" }, /TTS_BASE_URL must be an http\(s\) URL/],
    [{ TTS_BASE_URL: "http://127.0.0.1:8880/v1" }, /TTS_BASE_URL: set TTS_PROVIDER=openai/],
    [{ LOCAL_MODEL: "/models/x.bin" }, /LOCAL_MODEL: must be the path of a \.gguf file, 'auto'.*or 'off'/],
    [{ LLM_CONTEXT_TOKENS: "100" }, /LLM_CONTEXT_TOKENS must be at least 512/],
  ])("refuses %o naming the variable", (env, message) => {
    expect(() => loadConfig(env as Record<string, string>)).toThrow(ConfigError);
    expect(() => loadConfig(env as Record<string, string>)).toThrow(message);
  });

  it("keeps the browser voice when TTS_PROVIDER is unset, and reads the server voice's variables with openai", () => {
    expect(loadConfig({}).tts).toEqual({ provider: "web", defaultVoice: "default" });
    expect(
      loadConfig({ TTS_PROVIDER: "openai", TTS_BASE_URL: "http://127.0.0.1:8880/v1/", TTS_MODEL: "kokoro", TTS_VOICE: "af_heart", TTS_DEFAULT_VOICE: "Daniel" }).tts,
    ).toEqual({ provider: "openai", defaultVoice: "Daniel", baseUrl: "http://127.0.0.1:8880/v1", apiKey: "", model: "kokoro", voice: "af_heart" });
    expect(loadConfig({ TTS_PROVIDER: "openai", TTS_API_KEY: "sk" }).tts).toMatchObject({ baseUrl: "https://api.openai.com/v1", model: "tts-1", voice: "alloy" });
  });

  it("reads .env.local, and the environment wins", async () => {
    await writeFile(join(dir, ".env.local"), "PORT=4100\nLOG_LEVEL=debug\n# comment\nHOST=0.0.0.0\n");
    const env = readEnv({ PORT: "4200" }, dir);
    const c = loadConfig(env);
    expect(c.port).toBe(4200);
    expect(c.logLevel).toBe("debug");
    expect(c.host).toBe("0.0.0.0");
  });

  it("stops the real process at start with a message naming the bad variable", () => {
    const r = spawnSync(process.execPath, ["--import", "tsx", "apps/server/src/main.ts"], {
      cwd: resolve(import.meta.dirname, "../../.."),
      env: { ...process.env, PORT: "not-a-port", DATA_DIR: dir },
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/PORT must be a number/);
  });
});
