import { createContext, useContext, useSyncExternalStore, type ReactNode } from "react";
import type { AppController } from "./controller.js";
import type { State } from "./reducer.js";
import { useSelector } from "./store.js";
import type { SpeechSnapshot } from "../speech/speech.js";

const AppContext = createContext<AppController | null>(null);

export function AppProvider({ controller, children }: { controller: AppController; children: ReactNode }) {
  return <AppContext.Provider value={controller}>{children}</AppContext.Provider>;
}

export function useApp(): AppController {
  const c = useContext(AppContext);
  if (!c) throw new Error("useApp() outside <AppProvider>");
  return c;
}

export function useAppState<T>(select: (s: State) => T): T {
  return useSelector(useApp().store, select);
}

export function useSpeech(): SpeechSnapshot {
  const speech = useApp().speech;
  return useSyncExternalStore(speech.subscribe, speech.getSnapshot, speech.getSnapshot);
}
