// Test harness: a real server on a loopback port with a temp DATA_DIR and the
// fake OpenAI-compatible LLM behind it, and a small WebSocket client.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import WebSocket from "ws";
import type { ServerMessage } from "@tutor/protocol";
import { MessageLog, startServerProcess, type FakeLlm, type FakeStt, type ServerProcess } from "@tutor/testkit";
import { loadConfig, type Config } from "./config.js";
import { createLogger } from "./logger.js";
import { startServer, type RunningServer } from "./main.js";

export const MAIN_MODEL = "tutor-main";
export const FAST_MODEL = "tutor-fast";

export interface TestServer {
  url: string;
  wsUrl: string;
  dataDir: string;
  server: RunningServer;
  close(): Promise<void>;
}

export async function startTestServer(
  opts: { fake?: FakeLlm; env?: Record<string, string>; dataDir?: string; configure?: (config: Config) => void } = {},
): Promise<TestServer> {
  const dataDir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), "tutor-test-")));
  const env: Record<string, string> = {
    HOST: "127.0.0.1",
    PORT: "0",
    DATA_DIR: dataDir,
    LOG_LEVEL: "silent",
    // No download from a model hub in tests; tests of the local model set LOCAL_MODEL themselves.
    LOCAL_MODEL: "off",
    ...(opts.fake
      ? { LLM_BASE_URL: opts.fake.url, LLM_API_KEY: "test-key", LLM_MODELS: `${MAIN_MODEL},${FAST_MODEL}`, LLM_FAST_MODEL: FAST_MODEL }
      : {}),
    ...opts.env,
  };
  const config = loadConfig(env);
  opts.configure?.(config);
  const server = await startServer(config, createLogger(config.logLevel));
  return {
    url: server.url,
    wsUrl: server.url.replace(/^http/, "ws") + "/ws",
    dataDir,
    server,
    async close() {
      await server.shutdown("test");
      if (!opts.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** A test server whose voice goes to the fake transcription server, with one VAD worker (the test machine's cores are shared). */
export function startVoiceTestServer(
  fake: FakeLlm,
  stt: FakeStt,
  opts: { env?: Record<string, string>; configure?: (config: Config) => void } = {},
): Promise<TestServer> {
  return startTestServer({
    fake,
    env: { STT_BASE_URL: stt.url, STT_API_KEY: "stt-key", STT_MODEL: "whisper-test", ...opts.env },
    configure: (c) => {
      c.voice.vadWorkers = 1;
      opts.configure?.(c);
    },
  });
}

const repoRoot = resolve(import.meta.dirname, "../../..");

/**
 * The server as deployed: main.ts in its own Node process on a free port, the
 * fake LLM behind it (tests that kill -9, SIGTERM or restart it on one DATA_DIR).
 */
export function startAppProcess(fake: FakeLlm, env: Record<string, string>): Promise<ServerProcess> {
  return startServerProcess({
    entry: join(repoRoot, "apps/server/src/main.ts"),
    cwd: repoRoot,
    env: {
      LLM_BASE_URL: fake.url,
      LLM_API_KEY: "k",
      LLM_MODELS: `${MAIN_MODEL},${FAST_MODEL}`,
      LLM_FAST_MODEL: FAST_MODEL,
      LOG_LEVEL: "info",
      ...env,
    },
  });
}

type Msg = ServerMessage & Record<string, unknown>;

/** A WebSocket client that records every message and can wait for one. */
export class WsClient {
  readonly #log = new MessageLog<Msg>();
  readonly messages: Msg[] = this.#log.messages;
  /** Binary frames (server voice audio), with how many JSON messages had arrived before each. */
  readonly binary: { after: number; bytes: Buffer }[] = [];
  #seq = 0;
  closed: Promise<{ code: number }>;

  private constructor(readonly ws: WebSocket) {
    ws.on("message", (data, isBinary) => {
      if (isBinary) {
        this.binary.push({ after: this.messages.length, bytes: Buffer.isBuffer(data) ? data : Buffer.from(data as ArrayBuffer) });
        return;
      }
      this.#log.push(JSON.parse(String(data)) as Msg);
    });
    this.closed = new Promise((resolve) => ws.on("close", (code) => resolve({ code })));
  }

  static async connect(url: string): Promise<WsClient> {
    const ws = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    return new WsClient(ws);
  }

  send(obj: unknown): void {
    this.ws.send(JSON.stringify(obj));
  }

  sendRaw(data: string | Buffer, binary = false): void {
    this.ws.send(data, { binary });
  }

  /** The first message (already received or future) matching `pred`. */
  waitFor(pred: (m: Msg) => boolean, timeoutMs = 10_000, from = 0): Promise<Msg> {
    return this.#log.waitFor(pred, timeoutMs, from);
  }

  /** Sends with a fresh request_id and waits for the reply carrying it (of `type`, if given). */
  async request(obj: Record<string, unknown>, type?: string, timeoutMs?: number): Promise<Msg> {
    const request_id = `r${++this.#seq}`;
    const from = this.messages.length;
    this.send({ ...obj, request_id });
    return this.waitFor((m) => m.request_id === request_id && (!type || m.type === type), timeoutMs, from);
  }

  /** Messages carrying this request id, in arrival order. */
  replies(requestId: string): Msg[] {
    return this.#log.replies(requestId);
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.close();
    await this.closed;
  }
}

let userSeq = 0;
/** Registers a fresh user over the socket; returns the token. */
export async function signUp(client: WsClient, name = `student${process.pid}_${++userSeq}`): Promise<{ token: string; username: string; userId: string }> {
  const r = await client.request({ type: "auth_request", data: { type: "register", username: name, password: "correct horse battery" } }, "auth_response");
  if (!r.success) throw new Error(`sign-up failed: ${JSON.stringify(r)}`);
  return { token: r.token as string, username: name, userId: (r.user as { id: string }).id };
}

/** Runs a text turn and resolves with every message of it once `ai_response` arrived. */
export async function ask(client: WsClient, fields: Record<string, unknown>, timeoutMs = 15_000): Promise<Msg[]> {
  const from = client.messages.length;
  const final = await client.request({ type: "text_input", ...fields }, "ai_response", timeoutMs);
  // conversation_updated follows the answer; wait for it so the turn is complete.
  await client.waitFor((m) => m.type === "conversation_updated" && m.request_id === final.request_id, timeoutMs, from);
  return client.replies(final.request_id as string);
}
