// The protocol over WebSocket at /ws: one core Session per connection; this
// plugin only moves frames between the socket and the session.
import type { Socket } from "node:net";
import { Session } from "@tutor/core";
import { sessionDeps } from "../context.js";
import { turnStatus, type RoutePlugin } from "./common.js";

/** The largest WebSocket message we read at all; 256 KiB..this gets a `too_large` reply, beyond it the socket closes (1009). */
export const WS_MAX_PAYLOAD = 4 * 1024 * 1024;
const HEARTBEAT_MS = 30_000;
/**
 * A client that stops reading must not grow our memory: once this much is
 * waiting to go out, nothing more is queued and the socket closes with
 * WS_CLOSE_SLOW_CONSUMER (the close frame waits behind the queue; a client
 * that still reads nothing is cut off after SLOW_CONSUMER_GRACE_MS).
 */
export const WS_SEND_BUFFER_LIMIT = 4 * 1024 * 1024;
export const WS_CLOSE_SLOW_CONSUMER = 4008;
const SLOW_CONSUMER_GRACE_MS = 10_000;
/** Unsent bytes above which the next sentence's audio waits for the socket to drain (~10 s of 24 kHz speech). */
const AUDIO_BUFFERED_LIMIT = 512 * 1024;

export const wsRoutes: RoutePlugin = async (app, { ctx, sessions }) => {
  // The hub's listening connection came back (e.g. a PostgreSQL restart): events of other instances may
  // have been missed meanwhile — a sign-in ended elsewhere ends now, the others get a fresh conversations_list.
  const offResync = ctx.hubHandle.onResync(() => {
    for (const session of sessions) void session.resync();
  });
  app.addHook("onClose", async () => offResync());
  app.get("/ws", { websocket: true, schema: { hide: true } }, (socket, req) => {
    const connLog = req.log.child({ conn: req.id });
    let alive = true;
    // Messages emitted in one go (a delta with its speech chunks, the end of
    // an answer) leave in one write: the TCP socket under the WebSocket is
    // corked at the first and uncorked once the current tick is done.
    const tcp = req.socket;
    let corked = false;
    let overflowed = false;
    const uncork = () => {
      corked = false;
      tcp.uncork();
    };
    const write = (data: string | Buffer) => {
      if (!corked) {
        corked = true;
        tcp.cork();
        process.nextTick(uncork);
      }
      if (typeof data === "string") socket.send(data);
      else socket.send(data, { binary: true });
    };
    const session = new Session(sessionDeps(ctx, connLog), {
      id: req.id,
      address: req.ip,
      send: (m) => {
        if (m.type === "error") ctx.metrics.protocolErrors.inc({ code: m.code });
        else if (m.type === "ai_response") ctx.metrics.turns.inc({ status: turnStatus(m) });
        if (socket.readyState !== socket.OPEN || overflowed) return;
        if (socket.bufferedAmount > WS_SEND_BUFFER_LIMIT) {
          overflowed = true;
          connLog.warn({ event: "ws_slow_consumer", buffered: socket.bufferedAmount }, "client is not reading: closing");
          ctx.metrics.protocolErrors.inc({ code: "slow_consumer" });
          socket.close(WS_CLOSE_SLOW_CONSUMER, "slow consumer: the client stopped reading");
          setTimeout(() => socket.terminate(), SLOW_CONSUMER_GRACE_MS).unref();
          return;
        }
        write(JSON.stringify(m));
      },
      // Server voice: `speech_audio`, then the sentence's PCM as the very next (binary) frame.
      // A client that does not read holds back the next sentence instead of growing our buffer.
      audio: {
        play: (header, audio) => {
          if (socket.readyState !== socket.OPEN || overflowed) return;
          write(JSON.stringify(header));
          write(Buffer.from(audio.samples.buffer, audio.samples.byteOffset, audio.samples.byteLength));
          if (socket.bufferedAmount + tcp.writableLength > AUDIO_BUFFERED_LIMIT) return drained(tcp);
        },
      },
    });
    sessions.add(session);
    ctx.metrics.connections.inc();
    connLog.info({ event: "ws_open", address: req.ip }, "connection opened");
    socket.on("pong", () => (alive = true));
    const heartbeat = setInterval(() => {
      if (!alive) return socket.terminate();
      alive = false;
      socket.ping();
    }, HEARTBEAT_MS);
    socket.on("message", (data, isBinary) => {
      const bytes = toBuffer(data);
      if (!isBinary) {
        void session.handleFrame(bytes);
        return;
      }
      // Backpressure: read the next frame only once this one is taken in
      // (the voice detector falls behind only when audio comes faster than real time).
      socket.pause();
      void session.handleAudio(bytes).finally(() => socket.resume());
    });
    socket.on("close", (code) => {
      clearInterval(heartbeat);
      sessions.delete(session);
      ctx.metrics.connections.dec();
      connLog.info({ event: "ws_close", code }, "connection closed");
      void session.close();
    });
  });
};

/** Resolves when the socket has drained or closed. */
function drained(tcp: Socket): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      tcp.off("drain", done);
      tcp.off("close", done);
      resolve();
    };
    tcp.once("drain", done);
    tcp.once("close", done);
  });
}

function toBuffer(data: Buffer | ArrayBuffer | Buffer[]): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
