import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import "./index.css";
import { App, loadShell } from "./components/App.js";
import { defaultSocketUrl, ProtocolClient } from "./protocol/client.js";
import { SpeechOut } from "./speech/speech.js";
import { AppController } from "./state/controller.js";
import { AppProvider } from "./state/context.js";

const controller = new AppController({
  client: new ProtocolClient({ url: defaultSocketUrl() }),
  speech: new SpeechOut(),
});
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
