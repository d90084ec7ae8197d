import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { PublicConfig } from "@tutor/protocol";
import "./index.css";
import { App, loadShell } from "./components/App.js";
import { defaultSocketUrl, ProtocolClient } from "./protocol/client.js";
import { LiveKitClient } from "./protocol/livekit.js";
import { TransportSwitch } from "./protocol/switch.js";
import { readJson } from "./lib/storage.js";
import { SpeechOut } from "./speech/speech.js";
import { AppController } from "./state/controller.js";
import { AppProvider } from "./state/context.js";

const client = new TransportSwitch({
  websocket: new ProtocolClient({ url: defaultSocketUrl() }),
  livekit: (bearer) => new LiveKitClient({ bearer }),
  livekitEnabled: async () => {
    const res = await fetch("/api/config", { headers: { accept: "application/json" } });
    const parsed = PublicConfig.safeParse(res.ok ? await res.json() : null);
    return parsed.success && parsed.data.livekit.enabled;
  },
  storedToken: () => {
    const s = readJson<{ token?: unknown } | null>("tutor.session", null);
    return s && typeof s.token === "string" && s.token ? s.token : null;
  },
  onEvent: (event, detail) => console.info(`[tutor] ${event}${detail ? `: ${detail}` : ""}`),
});
const controller = new AppController({ client, speech: new SpeechOut() });
controller.start();
// A returning student will need the chat screen: fetch it while the token is verified.
if (controller.state.auth.status === "checking") void loadShell();

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <AppProvider controller={controller}>
      <App />
    </AppProvider>
  </StrictMode>,
);
