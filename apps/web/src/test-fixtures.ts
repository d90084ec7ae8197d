// What the web app's unit tests share: a student, conversations as the server
// sends them, a speechSynthesis recorder, and the controller wired to the
// in-memory socket (test-socket.ts) and signed in.
import { expect, vi } from "vitest";
import type { Conversation } from "@tutor/protocol";
import { ProtocolClient } from "./protocol/client.js";
import { SpeechOut } from "./speech/speech.js";
import { AppController, type ControllerOptions } from "./state/controller.js";
import { FakeSocket } from "./test-socket.js";

export const T0_ISO = "2026-11-24T10:00:00.000Z";
export const TEST_USER = { id: "u1", username: "ada", email: null, created_at: T0_ISO, last_login: null };

/** A conversation as the server sends it: `updated_at`, `message_count` and `last_message` follow the messages unless given. */
export function testConversation(fields: Partial<Conversation> & { id: string }): Conversation {
  const messages = fields.messages ?? [];
  const last = messages.at(-1);
  return {
    title: "T",
    teaching_mode: "qa",
    created_at: T0_ISO,
    updated_at: last?.timestamp ?? T0_ISO,
    message_count: messages.length,
    last_message: last ? { type: last.type, content: last.content } : null,
    messages,
    has_more: false,
    ...fields,
  };
}

/** speechSynthesis that speaks until the test says the utterance ended (`finish`). */
export class RecordingSynth extends EventTarget {
  spoken: string[] = [];
  cancels = 0;
  current: { text: string; onend: (() => void) | null } | null = null;
  getVoices() {
    return [{ voiceURI: "v1", name: "Voice One", lang: "en-US", default: true, localService: true }] as unknown as SpeechSynthesisVoice[];
  }
  speak(u: { text: string; onend: (() => void) | null }) {
    this.spoken.push(u.text);
    this.current = u;
  }
  /** The current utterance finished playing. */
  finish() {
    const u = this.current;
    this.current = null;
    u?.onend?.();
  }
  cancel() {
    this.cancels++;
    this.current = null;
  }
}

/** SpeechSynthesisUtterance, which jsdom lacks. */
export class FakeUtterance {
  rate = 1;
  pitch = 1;
  voice: unknown = null;
  lang = "";
  onend: (() => void) | null = null;
  onerror: (() => void) | null = null;
  constructor(readonly text: string) {}
}

/** A returning student's storage: a session token (and a saved teaching mode, unless `mode` is null). */
export function signedInStorage(mode: string | null = "qa"): void {
  FakeSocket.all = [];
  localStorage.clear();
  localStorage.setItem("tutor.session", JSON.stringify({ token: "tok" }));
  if (mode !== null) localStorage.setItem("tutor.mode", JSON.stringify(mode));
}

/**
 * The controller on the in-memory socket: no config route (404), text flushed
 * at once, and — with `fastReconnect` — reconnects within milliseconds.
 */
export function testController(options: Partial<ControllerOptions> & { fastReconnect?: boolean; synth?: unknown } = {}): AppController {
  const { fastReconnect, synth, ...rest } = options;
  const backoff = fastReconnect ? { initialBackoffMs: 5, maxBackoffMs: 20 } : {};
  return new AppController({
    client: new ProtocolClient({ url: "ws://test/ws", WebSocketImpl: FakeSocket as unknown as typeof WebSocket, ...backoff }),
    speech: new SpeechOut(synth as SpeechSynthesis | undefined),
    fetchImpl: async () => new Response("{}", { status: 404 }),
    schedule: (fn) => queueMicrotask(fn),
    ...rest,
  });
}

/** Opens the app's socket and answers its verify request for TEST_USER; resolves once the app is ready. */
export async function answerVerify(app: AppController, sock: FakeSocket = FakeSocket.last): Promise<FakeSocket> {
  sock.open();
  const verify = sock.lastOf("auth_request");
  expect(verify.data).toEqual({ type: "verify", token: "tok" });
  sock.push({ type: "auth_response", action: "verify", success: true, user: TEST_USER, token: "tok", request_id: verify.request_id! });
  await vi.waitFor(() => expect(app.state.ready).toBe(true));
  return sock;
}
