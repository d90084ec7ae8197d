// The benchmark page: the real app (store, controller, protocol client with
// zod validation, React components) fed by an in-page socket that plays the
// server, plus plain-text baselines measured the same way.
import "../../src/index.css";
import { createRoot } from "react-dom/client";
import type { Conversation, ServerMessage } from "@tutor/protocol";
import { App } from "../../src/components/App.js";
import { ProtocolClient } from "../../src/protocol/client.js";
import { SpeechOut } from "../../src/speech/speech.js";
import { AppController } from "../../src/state/controller.js";
import { AppProvider } from "../../src/state/context.js";

const USER = { id: "u1", username: "bench", email: null, created_at: "2026-01-01T00:00:00.000Z", last_login: null };

class PageSocket {
  static current: PageSocket | null = null;
  static conversation: Conversation | null = null;
  static heldGet: string | null = null;
  readyState = 0;
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: string }) => void) | null = null;
  onclose: ((ev: unknown) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  constructor(_url: string) {
    PageSocket.current = this;
    setTimeout(() => {
      this.readyState = 1;
      this.onopen?.({});
    }, 0);
  }
  push(msg: ServerMessage): void {
    this.onmessage?.({ data: JSON.stringify(msg) });
  }
  send(data: string): void {
    const m = JSON.parse(data) as { type: string; request_id?: string; conversation_id?: string };
    const rid = m.request_id ? { request_id: m.request_id } : {};
    const reply = (msg: ServerMessage) => setTimeout(() => this.push(msg), 0);
    if (m.type === "auth_request") {
      reply({ type: "auth_response", action: "verify", success: true, user: USER, token: "bench", ...rid });
    } else if (m.type === "list_conversations") {
      const c = PageSocket.conversation;
      const { messages: _m, ...summary } = c ?? ({ messages: [] } as unknown as Conversation);
      reply({ type: "conversations_list", conversations: c ? [summary] : [], next_cursor: null, ...rid });
    } else if (m.type === "get_conversation") {
      // Held until the benchmark releases it, so the clock starts at delivery.
      PageSocket.heldGet = m.request_id ?? "";
    } else if (m.type === "ping") {
      reply({ type: "pong", ...rid });
    }
  }
  close(): void {}
}

localStorage.setItem("tutor.session", JSON.stringify({ token: "bench" }));
localStorage.setItem("tutor.mode", JSON.stringify("qa"));
localStorage.setItem("tutor.speech", JSON.stringify({ enabled: false, voiceUri: null, rate: 1 }));
const controller = new AppController({
  client: new ProtocolClient({ url: "ws://bench/ws", WebSocketImpl: PageSocket as unknown as typeof WebSocket }),
  speech: new SpeechOut(),
});
controller.start();
createRoot(document.getElementById("root")!).render(
  <AppProvider controller={controller}>
    <App />
  </AppProvider>,
);

const frame = () => new Promise<number>((r) => requestAnimationFrame(r));
const painted = async () => {
  await frame();
  await frame();
  return performance.now();
};
const macrotask = () => new Promise<void>((r) => setTimeout(r, 0));

async function until(cond: () => boolean, timeoutMs = 60_000): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > end) throw new Error("timed out waiting in the page");
    await frame();
  }
}

interface FrameStats {
  longestFrameMs: number;
  longTasks: number;
  longestTaskMs: number;
}

/** rAF gaps and longtask entries between start() and stop(). */
function frameMonitor(): { stop(): FrameStats } {
  let last = performance.now();
  let longest = 0;
  let running = true;
  const tick = (t: number) => {
    longest = Math.max(longest, t - last);
    last = t;
    if (running) requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
  const tasks: number[] = [];
  const po = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) tasks.push(e.duration);
  });
  po.observe({ type: "longtask", buffered: false });
  return {
    stop() {
      running = false;
      po.disconnect();
      return { longestFrameMs: longest, longTasks: tasks.length, longestTaskMs: tasks.length ? Math.max(...tasks) : 0 };
    },
  };
}

const escapeHtml = (s: string) => s.replace(/[&<>]/g, (c) => (c === "&" ? "&amp;" : c === "<" ? "&lt;" : "&gt;"));

const bench = {
  async ready(): Promise<void> {
    await until(() => controller.state.ready && document.querySelector("#composer") !== null);
  },

  /**
   * Open a conversation: from the server's reply arriving to the latest
   * messages painted, and to every message in the DOM (older ones are added
   * in slices), with the longest frame meanwhile.
   */
  async openConversation(c: Conversation): Promise<FrameStats & { firstPaintMs: number; allMs: number }> {
    PageSocket.conversation = c;
    PageSocket.heldGet = null;
    void controller.openConversation(c.id);
    await until(() => PageSocket.heldGet !== null);
    const mon = frameMonitor();
    const t0 = performance.now();
    PageSocket.current!.push({ type: "conversation_data", conversation: c, request_id: PageSocket.heldGet! });
    const last = c.messages.at(-1)?.id;
    await until(() => document.querySelector(`li.message[data-message-id="${last}"]`) !== null);
    const firstPaintMs = (await painted()) - t0;
    await until(() => document.querySelectorAll("li.message").length === c.messages.length);
    const allMs = (await painted()) - t0;
    return { ...mon.stop(), firstPaintMs, allMs };
  },

  /** The same messages as pre-wrapped text set with innerHTML: the floor for showing them. */
  async plainRender(c: Conversation): Promise<number> {
    const host = document.getElementById("baseline")!;
    const t0 = performance.now();
    host.innerHTML = `<div>${c.messages
      .map((m) => `<div style="white-space:pre-wrap;margin:12px 0">${escapeHtml(m.content)}</div>`)
      .join("")}</div>`;
    const ms = (await painted()) - t0;
    host.innerHTML = "";
    return ms;
  },

  /** Deltas arrive one per task (as WebSocket frames do); clock stops when the final answer is painted. */
  async streamIntoApp(conversationId: string, deltas: string[]): Promise<FrameStats & { totalMs: number; renders: number }> {
    const sock = PageSocket.current!;
    const messageId = `stream-${Math.random().toString(36).slice(2)}`;
    const full = deltas.join("");
    let renders = 0;
    const mo = new MutationObserver(() => renders++);
    const target = document.querySelector("#chat-scroll")!;
    mo.observe(target, { subtree: true, childList: true, characterData: true });
    const mon = frameMonitor();
    const t0 = performance.now();
    for (const delta of deltas) {
      sock.push({ type: "ai_response_delta", conversation_id: conversationId, message_id: messageId, delta });
      await macrotask();
    }
    sock.push({ type: "ai_response", conversation_id: conversationId, message_id: messageId, text: full, model: "bench" });
    await until(() => document.querySelector(`li[data-message-id="${messageId}"]:not(.message-streaming)`) !== null);
    const t1 = await painted();
    mo.disconnect();
    return { ...mon.stop(), totalMs: t1 - t0, renders };
  },

  /** The same deltas appended to one pre-wrapped text node. */
  async streamPlain(deltas: string[]): Promise<FrameStats & { totalMs: number; renders: number }> {
    const host = document.getElementById("baseline")!;
    host.innerHTML = "";
    const pre = document.createElement("div");
    pre.style.whiteSpace = "pre-wrap";
    host.appendChild(pre);
    const mon = frameMonitor();
    const t0 = performance.now();
    let renders = 0;
    for (const delta of deltas) {
      pre.textContent += delta;
      renders++;
      await macrotask();
    }
    const t1 = await painted();
    return { ...mon.stop(), totalMs: t1 - t0, renders };
  },
};

(window as unknown as { bench: typeof bench }).bench = bench;
