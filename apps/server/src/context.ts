// Wires adapters to the core: the one place that knows every concrete part.
import { availableParallelism } from "node:os";
import {
  AuthService,
  ConversationService,
  Limits,
  type Limiter,
  TopicGuard,
  TurnRunner,
  type EventHub,
  type Logger,
  type SessionDeps,
  type Store,
} from "@tutor/core";
import type { PublicConfig } from "@tutor/protocol";
import { DEFAULT_PAGE_SIZE, MAX_TEXT_CHARS, TEACHING_MODES } from "@tutor/protocol";
import { createStore, createStoreLimiter } from "@tutor/store";
import type { Config } from "./config.js";
import { argon2Hasher } from "./hasher.js";
import { createHub, type HubHandle } from "./hub.js";
import { createModels, type Models } from "./llm.js";
import { Metrics } from "./metrics.js";
import { createLiveKitRooms, type LiveKitRooms } from "./livekit.js";
import { loadJwtSecret } from "./secrets.js";
import { createServerSpeech, createVoice, type ServerVoice } from "./voice.js";

export interface AppContext {
  config: Config;
  logger: Logger;
  store: Store;
  models: Models;
  auth: AuthService;
  conversations: ConversationService;
  turns: TurnRunner;
  hub: EventHub;
  /** Counters in the store (shared by every instance on one PostgreSQL), and what is limited by them. */
  limiter: Limiter;
  limits: Limits;
  /** Which hub `hub` is (PostgreSQL LISTEN/NOTIFY or in process), its connection state, resync, close. */
  hubHandle: HubHandle;
  metrics: Metrics;
  publicConfig: PublicConfig;
  /** Server-side voice input (VAD + speech-to-text); undefined when no STT is configured. */
  voice: ServerVoice | undefined;
  /** Set when LIVEKIT_* are configured: rooms and join tokens for the LiveKit transport. */
  livekit: LiveKitRooms | undefined;
}

export async function createContext(config: Config, logger: Logger, overrides: { store?: Store } = {}): Promise<AppContext> {
  const store = overrides.store ?? (await createStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, logger }));
  const secret = await loadJwtSecret(config.jwtSecret, config.dataDir);
  const models = await createModels(config, logger);
  // In the background: a download or load must not hold up start-up (turns answer "getting ready" meanwhile).
  void models.local?.start();
  const metrics = new Metrics();
  const hubHandle = await createHub(store.dialect === "postgres" ? config.databaseUrl : undefined, logger, metrics);
  const limiter = createStoreLimiter(store);
  const { turnLeaseMs, ...budgets } = config.limits;
  const limits = new Limits(limiter, turnLeaseMs === undefined ? budgets : { ...budgets, turnLeaseMs }, logger.child({ component: "limits" }));
  // Half the cores for argon2 at most: a flood of sign-ins queues instead of starving the turns.
  const hashConcurrency = config.hashConcurrency ?? Math.max(1, Math.floor(availableParallelism() / 2));
  const auth = new AuthService({
    store,
    hasher: argon2Hasher,
    secret,
    logger,
    hub: hubHandle.hub,
    tokenTtlSeconds: config.auth.tokenTtlSeconds,
    limits,
    hashConcurrency,
  });
  const guard = new TopicGuard({ fast: models.fast, logger: logger.child({ component: "topic_guard" }) });
  const speech = createServerSpeech(config, logger, metrics);
  const turns = new TurnRunner({
    store,
    guard,
    chain: models.chain,
    fast: models.fast,
    logger: logger.child({ component: "turn" }),
    limits,
    settings: { deadlineMs: config.turn.deadlineMs, ...(config.turn.maxTokens ? { maxTokens: config.turn.maxTokens } : {}), tts: { provider: "web", voice: config.tts.defaultVoice, rate: 1, pitch: 1 } },
    speech,
  });
  const voice = await createVoice(config, logger, metrics);
  return {
    config,
    logger,
    store,
    models,
    voice,
    auth,
    conversations: new ConversationService(store),
    turns,
    hub: hubHandle.hub,
    hubHandle,
    limiter,
    limits,
    metrics,
    publicConfig: publicConfig(config, { serverVoice: voice !== undefined }),
    livekit: config.livekit ? createLiveKitRooms(config.livekit) : undefined,
  };
}

/** Closes what createContext opened (after the sessions are closed): the hub's connection, storage, voice workers. */
export async function closeContext(ctx: AppContext): Promise<void> {
  await ctx.hubHandle.close();
  await ctx.store.close();
  await ctx.voice?.close();
  await ctx.models.local?.close();
}

/** What every transport's Session gets (WebSocket here, LiveKit in apps/agent): one list, so they cannot drift apart. */
export function sessionDeps(ctx: AppContext, logger: Logger): SessionDeps {
  return { auth: ctx.auth, conversations: ctx.conversations, turns: ctx.turns, hub: ctx.hub, logger, voice: ctx.voice?.deps };
}

/** /api/config now: the fixed part plus what the local model is doing (its download progress changes). */
export function liveConfig(ctx: AppContext): PublicConfig {
  const local = ctx.models.local;
  if (!local) return ctx.publicConfig;
  const status = local.status();
  const message = local.message();
  const llm = ctx.publicConfig.llm;
  return {
    ...ctx.publicConfig,
    llm: {
      configured: true,
      provider: llm.configured ? llm.provider : "local",
      models: [...llm.models, local.model.name],
      ...(message ? { message } : {}),
      local: {
        model: local.model.name,
        state: status.state,
        ...(status.state === "downloading" ? { progress: Math.floor(status.progress * 100) } : {}),
        ...(message ? { message } : {}),
      },
    },
  };
}

/** `serverVoice`: voice input actually started (STT configured and the VAD loaded). */
export function publicConfig(config: Config, running: { serverVoice: boolean } = { serverVoice: config.stt.provider === "server" }): PublicConfig {
  return {
    llm: config.llm.configured
      ? { configured: true, provider: config.llm.provider, models: config.llm.models.map((m) => m.name) }
      : {
          configured: false,
          provider: "none",
          models: [],
          message:
            "No language model is configured. Set GROQ_API_KEY, or LLM_BASE_URL and LLM_MODELS for any OpenAI-compatible server, and restart.",
        },
    // "server": stream the microphone (audio_start + binary frames, or a LiveKit track);
    // "browser": no server STT, so use the browser's own speech recognition.
    stt: config.stt.provider === "server" && running.serverVoice ? { provider: "server", model: config.stt.model } : { provider: "browser" },
    // "openai": answers arrive as speech_audio + PCM (WebSocket) or the agent's track (LiveKit); web_tts only as the fall-back.
    tts:
      config.tts.provider === "openai"
        ? { provider: "openai", default_voice: config.tts.defaultVoice, voice: config.tts.voice, model: config.tts.model }
        : { provider: "web", default_voice: config.tts.defaultVoice },
    livekit: config.livekit ? { enabled: true, url: config.livekit.url } : { enabled: false },
    limits: {
      max_text_chars: MAX_TEXT_CHARS,
      page_size: DEFAULT_PAGE_SIZE,
      turns_per_hour: config.limits.turnsPerHour,
      tokens_per_day: config.limits.tokensPerDay,
    },
    teaching_modes: [...TEACHING_MODES],
  };
}
