// Which carrier the app talks through, with the real controller on top: the
// WebSocket is the in-memory socket, LiveKit is the real LiveKitClient over a
// stand-in for livekit-client's Room (jsdom has no WebRTC) and a stand-in
// token route.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { LIVEKIT_TOPIC, type ClientMessage, type ServerMessage } from "@tutor/protocol";
import { ProtocolClient } from "./client.js";
import { LiveKitClient, MAX_PACKET_BYTES, type LiveKitSdk } from "./livekit.js";
import { TransportSwitch } from "./switch.js";
import { FakeSocket } from "../test-socket.js";
import { SpeechOut } from "../speech/speech.js";
import { AppController } from "../state/controller.js";

const USER = { id: "u1", username: "ada", email: null, created_at: "2026-11-24T10:00:00.000Z", last_login: null };

type Handler = (...args: unknown[]) => void;

/** The agent's end of a room: records what the app sends and lets the test answer. */
class FakeRoom {
  static all: FakeRoom[] = [];
  handlers = new Map<string, Handler[]>();
  textHandler: ((reader: { readAll(): Promise<string> }, info: { identity: string }) => void) | null = null;
  joined: { url: string; token: string } | null = null;
  disconnected = false;
  packets: { msg: ClientMessage; topic: string | undefined; reliable: boolean | undefined }[] = [];
  streams: { msg: ClientMessage; topic: string | undefined }[] = [];
  tracks: { track: unknown; source: unknown }[] = [];
  unpublished: unknown[] = [];
  readonly agent = { identity: "agent-1", isAgent: true };
  localParticipant = {
    publishData: async (bytes: Uint8Array, o: { topic?: string; reliable?: boolean }) => {
      this.packets.push({ msg: JSON.parse(new TextDecoder().decode(bytes)) as ClientMessage, topic: o.topic, reliable: o.reliable });
    },
    sendText: async (text: string, o: { topic?: string }) => {
      this.streams.push({ msg: JSON.parse(text) as ClientMessage, topic: o.topic });
    },
    publishTrack: async (track: unknown, o: { source?: unknown }) => {
      this.tracks.push({ track, source: o.source });
    },
    unpublishTrack: async (track: unknown) => {
      this.unpublished.push(track);
    },
  };
  constructor() {
    FakeRoom.all.push(this);
  }
  static get last(): FakeRoom {
    return FakeRoom.all.at(-1)!;
  }
  on(event: string, fn: Handler) {
    this.handlers.set(event, [...(this.handlers.get(event) ?? []), fn]);
    return this;
  }
  registerTextStreamHandler(_topic: string, fn: FakeRoom["textHandler"]) {
    this.textHandler = fn;
  }
  unregisterTextStreamHandler() {
    this.textHandler = null;
  }
  connect = async (url: string, token: string) => {
    this.joined = { url, token };
  };
  disconnect = async () => {
    this.disconnected = true;
  };
  emit(event: string, ...args: unknown[]) {
    for (const fn of this.handlers.get(event) ?? []) fn(...args);
  }
  /** The agent sends a message: a packet, or a text stream when large (as bridge.ts does). */
  agentSends(msg: ServerMessage) {
    const text = JSON.stringify(msg);
    const bytes = new TextEncoder().encode(text);
    // No participant: LiveKit announces an agent that publishes nothing seconds after its first packets.
    if (bytes.byteLength <= MAX_PACKET_BYTES) this.emit("dataReceived", bytes, undefined, 0, LIVEKIT_TOPIC);
    else this.textHandler?.({ readAll: async () => text }, { identity: this.agent.identity });
  }
  lastSent<T extends ClientMessage["type"]>(type: T): Extract<ClientMessage, { type: T }> {
    const all = [...this.packets, ...this.streams].map((p) => p.msg);
    const m = all.reverse().find((x) => x.type === type);
    if (!m) throw new Error(`no ${type} sent over LiveKit; sent: ${all.map((x) => x.type).join(", ")}`);
    return m as Extract<ClientMessage, { type: T }>;
  }
}

const sdk = {
  Room: FakeRoom,
  RoomEvent: { DataReceived: "dataReceived", Disconnected: "disconnected", TrackSubscribed: "trackSubscribed", TrackUnsubscribed: "trackUnsubscribed" },
  Track: { Source: { Microphone: "microphone" }, Kind: { Audio: "audio" } },
} as unknown as LiveKitSdk;

/** Stand-ins for the audio elements SpeechOut plays the agent's voice track through (jsdom has no MediaStream). */
interface FakeVoiceElement {
  track: MediaStreamTrack;
  volume: number;
  muted: boolean;
  paused: boolean;
  pause(): void;
}
let voiceElements: FakeVoiceElement[];

let tokenRoute: { status: number; calls: { auth: string | null }[] };
let app: AppController;
let events: string[];

function setup(opts: { livekit: boolean; token: string | null }) {
  if (opts.token) localStorage.setItem("tutor.session", JSON.stringify({ token: opts.token }));
  const fetchImpl = (async (url: string, init?: RequestInit) => {
    if (url === "/api/livekit/token") {
      tokenRoute.calls.push({ auth: new Headers(init?.headers).get("authorization") });
      if (tokenRoute.status !== 200) return new Response("{}", { status: tokenRoute.status });
      return Response.json({ url: "ws://lk.test", token: "lk-token", room: "tutor_u1_x", expires_at: "2026-11-24T10:02:00.000Z" });
    }
    return new Response("{}", { status: 404 });
  }) as typeof fetch;
  const client = new TransportSwitch({
    websocket: new ProtocolClient({ url: "ws://test/ws", WebSocketImpl: FakeSocket as unknown as typeof WebSocket, initialBackoffMs: 5, maxBackoffMs: 20 }),
    livekit: (bearer) => new LiveKitClient({ bearer, fetchImpl, loadSdk: async () => sdk, readyTimeoutMs: 1000 }),
    livekitEnabled: async () => opts.livekit,
    storedToken: () => opts.token ?? (JSON.parse(localStorage.getItem("tutor.session") ?? "null") as { token?: string } | null)?.token ?? null,
    onEvent: (e, d) => events.push(`${e}${d ? `: ${d}` : ""}`),
  });
  const speech = new SpeechOut(undefined, undefined, (track) => {
    const el: FakeVoiceElement = { track, volume: 1, muted: false, paused: false, pause: () => (el.paused = true) };
    voiceElements.push(el);
    return el;
  });
  app = new AppController({ client, speech, fetchImpl, schedule: (fn) => queueMicrotask(fn) });
  app.start();
}

/** The agent's ready signal, then the controller's own verify answered. */
async function agentReady(room: FakeRoom) {
  await vi.waitFor(() => expect(room.joined).not.toBeNull());
  room.agentSends({ type: "auth_response", action: "verify", success: true, user: USER });
  const verify = await vi.waitFor(() => room.lastSent("auth_request"));
  expect(verify.data).toMatchObject({ type: "verify" });
  room.agentSends({ type: "auth_response", action: "verify", success: true, user: USER, token: "tok", request_id: verify.request_id! });
  await vi.waitFor(() => expect(app.state.ready).toBe(true));
}

beforeEach(() => {
  FakeSocket.all = [];
  FakeRoom.all = [];
  localStorage.clear();
  tokenRoute = { status: 200, calls: [] };
  events = [];
  voiceElements = [];
});

afterEach(() => app.shutdown());

describe("choosing the carrier", () => {
  it("uses the WebSocket when the server does not offer LiveKit", async () => {
    setup({ livekit: false, token: "tok" });
    await vi.waitFor(() => expect(FakeSocket.all).toHaveLength(1));
    FakeSocket.last.open();
    expect(FakeSocket.last.lastOf("auth_request").data).toEqual({ type: "verify", token: "tok" });
    expect(tokenRoute.calls).toEqual([]);
    expect(app.client.kind).toBe("websocket");
    expect(app.client.audioCarrier).toBe("frames");
  });

  it("a signed-in student talks through the LiveKit room: requests, large messages both ways, the microphone as a track", async () => {
    setup({ livekit: true, token: "tok" });
    await vi.waitFor(() => expect(FakeRoom.all).toHaveLength(1));
    const room = FakeRoom.last;
    expect(tokenRoute.calls).toEqual([{ auth: "Bearer tok" }]);
    await vi.waitFor(() => expect(room.joined).toEqual({ url: "ws://lk.test", token: "lk-token" }));
    // Nothing is sent before the agent says it is ready.
    expect(room.packets).toEqual([]);
    await agentReady(room);
    expect(FakeSocket.all).toEqual([]);
    expect(app.client.kind).toBe("livekit");
    expect(room.packets.every((p) => p.topic === LIVEKIT_TOPIC && p.reliable === true)).toBe(true);

    // A question over 15,000 bytes goes as a text stream; small ones as packets.
    const big = "Explain this code:\n" + "x = x + 1\n".repeat(2000);
    expect(app.ask(big)).toBeNull();
    await vi.waitFor(() => expect(room.streams.map((s) => s.msg.type)).toEqual(["text_input"]));
    expect(room.streams[0]).toMatchObject({ topic: LIVEKIT_TOPIC, msg: { text: big } });
    // A large reply arrives as a text stream and is applied like any message.
    const longAnswer = "A long answer. ".repeat(1500);
    room.agentSends({ type: "ai_response_delta", conversation_id: "c1", message_id: "a1", delta: longAnswer });
    await vi.waitFor(() => expect(app.state.streams.c1?.text).toBe(longAnswer));

    const track = { kind: "audio" } as MediaStreamTrack;
    await app.client.publishMicrophone(track);
    expect(room.tracks).toEqual([{ track, source: "microphone" }]);
    await app.client.unpublishMicrophone();
    expect(room.unpublished).toEqual([track]);
  });

  it("in a LiveKit room the page plays the agent's voice track: Stop mutes it, the next answer is heard, the volume applies", async () => {
    setup({ livekit: true, token: "tok" });
    await vi.waitFor(() => expect(FakeRoom.all).toHaveLength(1));
    const room = FakeRoom.last;
    await agentReady(room);
    const voice = { kind: "audio", id: "agent-voice" } as MediaStreamTrack;
    room.emit("trackSubscribed", { kind: "audio", mediaStreamTrack: voice });
    expect(voiceElements.map((e) => e.track)).toEqual([voice]);
    const el = voiceElements[0]!;
    const header = (message_id: string, seq: number) =>
      ({ type: "speech_audio", message_id, seq, text: "A sentence.", sample_rate: 24_000, encoding: "pcm_s16le" }) as const;
    el.muted = true; // so that unmuting is seen
    room.agentSends(header("a1", 0));
    await vi.waitFor(() => expect(el.muted).toBe(false));
    // Stop: the answer's audio still in flight on the track is not heard, nor its later sentences.
    app.stop();
    expect(el.muted).toBe(true);
    room.agentSends(header("a1", 1));
    await new Promise((r) => setTimeout(r, 10));
    expect(el.muted).toBe(true);
    // The next answer is heard again, at the student's volume.
    room.agentSends(header("a2", 0));
    await vi.waitFor(() => expect(el.muted).toBe(false));
    app.speech.setVolume(0.25);
    expect(el.volume).toBe(0.25);
    // The room goes away: the element stops.
    room.emit("disconnected");
    await vi.waitFor(() => expect(el.paused).toBe(true));
  });

  it("falls back to the WebSocket when the token route fails", async () => {
    tokenRoute.status = 503;
    setup({ livekit: true, token: "tok" });
    await vi.waitFor(() => expect(FakeSocket.all).toHaveLength(1));
    FakeSocket.last.open();
    expect(FakeSocket.last.lastOf("auth_request").data).toEqual({ type: "verify", token: "tok" });
    expect(FakeRoom.all).toEqual([]);
    expect(events.join("\n")).toMatch(/livekit_failed: the token route answered 503/);
  });

  it("falls back when the agent never comes into the room", async () => {
    setup({ livekit: true, token: "tok" });
    await vi.waitFor(() => expect(FakeRoom.all).toHaveLength(1));
    // No ready signal within readyTimeoutMs (1 s).
    await vi.waitFor(() => expect(FakeSocket.all).toHaveLength(1), { timeout: 3000 });
    expect(FakeRoom.last.disconnected).toBe(true);
    expect(app.client.kind).toBe("websocket");
  });

  it("moves to LiveKit after signing in over the WebSocket, and back when the room is lost", async () => {
    setup({ livekit: true, token: null });
    await vi.waitFor(() => expect(FakeSocket.all).toHaveLength(1));
    const sock = FakeSocket.last;
    sock.open();
    const signing = app.signIn("ada", "secret-password");
    const login = sock.lastOf("auth_request");
    sock.push({ type: "auth_response", action: "login", success: true, user: USER, token: "fresh", request_id: login.request_id! });
    expect(await signing).toEqual({ ok: true });
    await vi.waitFor(() => expect(FakeRoom.all).toHaveLength(1));
    expect(tokenRoute.calls).toEqual([{ auth: "Bearer fresh" }]);
    const room = FakeRoom.last;
    await agentReady(room);
    expect(app.client.kind).toBe("livekit");
    expect(sock.readyState).toBe(3); // the WebSocket is closed once the room serves us

    room.emit("disconnected");
    expect(app.state.ready).toBe(false);
    await vi.waitFor(() => expect(FakeSocket.all).toHaveLength(2));
    FakeSocket.last.open();
    expect(FakeSocket.last.lastOf("auth_request").data).toEqual({ type: "verify", token: "fresh" });
    expect(app.client.kind).toBe("websocket");
  });
});
