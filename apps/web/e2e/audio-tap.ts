// What the page really plays, and what went over its WebSocket, for the
// server-voice e2e tests. Two init scripts:
//
// - AUDIO_TAP_SCRIPT: every node the page connects to an AudioContext's
//   destination goes through a pass-through gain that also feeds an
//   AudioWorklet. The worklet runs on the audio rendering thread and counts
//   the frames rendered and the "voiced" ones (128-frame quanta whose RMS is
//   above VOICED_RMS), so the count grows only while sound with energy is
//   actually being played — not when messages merely arrive. Its module is a
//   blob: URL, so the browser runs with bypassCSP (see installAudioTap).
// - WS_RECORDER_SCRIPT: the page's WebSocket, recording every JSON message
//   received and sent (type, ids, playback fields) and every binary frame
//   received (bytes and its own voiced seconds), each stamped with the time
//   and the tap's voiced seconds at that moment. The recorder's listener runs
//   before the app's, so the stamp is what had played when the app got it.
import type { Page } from "playwright-core";

/** A render quantum counts as voiced when its RMS is above this (espeak-ng speech is well above; silence is 0). */
export const VOICED_RMS = 0.01;

export const TAP_WORKLET_SOURCE = `
class TutorTestTap extends AudioWorkletProcessor {
  constructor() { super(); this.frames = 0; this.voiced = 0; this.n = 0; }
  process(inputs) {
    const ch = inputs[0] && inputs[0][0];
    const len = ch ? ch.length : 128;
    this.frames += len;
    if (ch) {
      let sum = 0;
      for (let i = 0; i < ch.length; i++) sum += ch[i] * ch[i];
      if (Math.sqrt(sum / ch.length) > ${VOICED_RMS}) this.voiced += len;
    }
    if (++this.n % 4 === 0) this.port.postMessage({ frames: this.frames, voiced: this.voiced });
    return true;
  }
}
registerProcessor("tutor-test-tap", TutorTestTap);
`;

export const AUDIO_TAP_SCRIPT = `(() => {
  const moduleUrl = URL.createObjectURL(new Blob([${JSON.stringify(TAP_WORKLET_SOURCE)}], { type: "text/javascript" }));
  const taps = new Map();
  const tap = {
    contexts: 0,
    /** Seconds of voiced audio rendered so far, over every context. */
    voicedSeconds() { let s = 0; for (const t of taps.values()) s += t.voiced / t.rate; return s; },
    renderedSeconds() { let s = 0; for (const t of taps.values()) s += t.frames / t.rate; return s; },
    states() { return [...taps.keys()].map((c) => c.state); },
  };
  window.__audioTap = tap;
  const connect = AudioNode.prototype.connect;
  const tapFor = (ctx) => {
    let t = taps.get(ctx);
    if (t) return t;
    const input = ctx.createGain();
    t = { input, frames: 0, voiced: 0, rate: ctx.sampleRate };
    taps.set(ctx, t);
    tap.contexts++;
    connect.call(input, ctx.destination);
    ctx.audioWorklet.addModule(moduleUrl).then(() => {
      const node = new AudioWorkletNode(ctx, "tutor-test-tap", { numberOfInputs: 1, numberOfOutputs: 0, channelCount: 1, channelCountMode: "explicit" });
      node.port.onmessage = (ev) => { t.frames = ev.data.frames; t.voiced = ev.data.voiced; };
      connect.call(input, node);
    });
    return t;
  };
  AudioNode.prototype.connect = function (dest, ...rest) {
    if (dest instanceof AudioDestinationNode) {
      connect.call(this, tapFor(dest.context).input, ...rest);
      return dest;
    }
    return connect.call(this, dest, ...rest);
  };
})();`;

/** Voiced seconds in 24 kHz s16le PCM, by 64-sample blocks (the 24 kHz share of a 48 kHz quantum). */
const PCM_VOICED = `(buf) => {
  const s = new Int16Array(buf, 0, buf.byteLength >> 1);
  let voiced = 0;
  for (let i = 0; i + 64 <= s.length; i += 64) {
    let sum = 0;
    for (let j = i; j < i + 64; j++) sum += (s[j] / 32768) ** 2;
    if (Math.sqrt(sum / 64) > ${VOICED_RMS}) voiced += 64;
  }
  return voiced / 24000;
}`;

export const WS_RECORDER_SCRIPT = `(() => {
  const pcmVoiced = ${PCM_VOICED};
  const received = [];
  const sent = [];
  window.__ws = { received, sent };
  const voiced = () => (window.__audioTap ? window.__audioTap.voicedSeconds() : 0);
  const fields = (m) => ({ type: m.type, message_id: m.message_id, seq: m.seq, text: m.text, speaking: m.speaking, conversation_id: m.conversation_id, final: m.final });
  const Native = window.WebSocket;
  class RecordedWebSocket extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", (ev) => {
        const at = performance.now();
        if (typeof ev.data === "string") {
          try { received.push({ at, voiced: voiced(), ...fields(JSON.parse(ev.data)) }); } catch {}
        } else if (ev.data instanceof ArrayBuffer) {
          received.push({ at, voiced: voiced(), type: "binary", bytes: ev.data.byteLength, pcmVoiced: pcmVoiced(ev.data) });
        }
      });
    }
    send(data) {
      if (typeof data === "string") {
        try { sent.push({ at: performance.now(), voiced: voiced(), ...fields(JSON.parse(data)) }); } catch {}
      }
      return super.send(data);
    }
  }
  window.WebSocket = RecordedWebSocket;
})();`;

export interface WsRecord {
  at: number;
  /** The tap's voiced seconds when the frame arrived (received) or was sent. */
  voiced: number;
  type: string;
  message_id?: string;
  seq?: number;
  text?: string;
  speaking?: boolean;
  conversation_id?: string;
  final?: boolean;
  /** Binary frames: their size and their own voiced seconds. */
  bytes?: number;
  pcmVoiced?: number;
}

export interface TapReading {
  voiced: number;
  rendered: number;
  contexts: number;
  states: string[];
}

/**
 * Installs both scripts (call before the page loads the app). The tap's
 * worklet module is a blob: URL, which the app's CSP (script-src 'self')
 * refuses, and Playwright cannot route a worklet's request: launch the
 * browser with `bypassCSP` (nothing the server voice plays depends on CSP).
 */
export async function installAudioTap(page: Page): Promise<void> {
  await page.addInitScript(AUDIO_TAP_SCRIPT);
  await page.addInitScript(WS_RECORDER_SCRIPT);
}

export async function tapReading(page: Page): Promise<TapReading> {
  return page.evaluate(() => {
    const t = (window as unknown as { __audioTap: { voicedSeconds(): number; renderedSeconds(): number; contexts: number; states(): string[] } }).__audioTap;
    return { voiced: t.voicedSeconds(), rendered: t.renderedSeconds(), contexts: t.contexts, states: t.states() };
  });
}

export async function voicedSeconds(page: Page): Promise<number> {
  return (await tapReading(page)).voiced;
}

export async function wsLog(page: Page): Promise<{ received: WsRecord[]; sent: WsRecord[] }> {
  return page.evaluate(() => {
    const w = (window as unknown as { __ws: { received: WsRecord[]; sent: WsRecord[] } }).__ws;
    return { received: w.received.slice(), sent: w.sent.slice() };
  });
}

/** Each `speech_audio` received with the binary frame right after it. */
export function sentencesReceived(received: WsRecord[]): { header: WsRecord; audio: WsRecord | undefined }[] {
  return received.flatMap((r, i) => {
    if (r.type !== "speech_audio") return [];
    const next = received[i + 1];
    return [{ header: r, audio: next?.type === "binary" ? next : undefined }];
  });
}
