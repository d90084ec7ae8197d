// What every part of the controller shares: the one store, the carrier, the
// speech engine and the notices. Each concern (connection.ts, conversations.ts,
// turns.ts, speaking.ts) is a small class over this, so a feature lives in one
// file and they all see the same state.
import type { Transport } from "../protocol/transport.js";
import type { SpeechOut } from "../speech/speech.js";
import { readJson, writeJson } from "../lib/storage.js";
import type { TeachingMode } from "@tutor/protocol";
import type { Store } from "./store.js";
import type { Action, State } from "./reducer.js";

export interface AppHub {
  readonly store: Store<State, Action>;
  readonly client: Transport;
  readonly speech: SpeechOut;
  readonly fetchImpl: typeof fetch;
  /** The page's path (`location.pathname`): `/c/<id>` names the conversation to open. */
  path(): string;
  state(): State;
  dispatch(action: Action): void;
  notify(kind: "error" | "info", text: string): void;
}

export function createHub(parts: Omit<AppHub, "state" | "dispatch" | "notify">): AppHub {
  const { store } = parts;
  return {
    ...parts,
    state: () => store.getState(),
    dispatch: (action) => store.dispatch(action),
    notify: (kind, text) => store.dispatch({ type: "notice", kind, text }),
  };
}

// localStorage keys (see the web README): the token, the mode shown last.
const SESSION_KEY = "tutor.session";
const MODE_KEY = "tutor.mode";

export interface SavedSession {
  token: string;
  expires_at?: string;
}

export function savedSession(): SavedSession | null {
  const s = readJson<SavedSession | null>(SESSION_KEY, null);
  return s && typeof s.token === "string" && s.token ? s : null;
}

export function saveSession(session: SavedSession | null): void {
  writeJson(SESSION_KEY, session);
}

export function savedMode(): TeachingMode | undefined {
  const mode = readJson<TeachingMode | null>(MODE_KEY, null);
  return mode === "qa" || mode === "teacher" ? mode : undefined;
}

export function saveMode(mode: TeachingMode): void {
  writeJson(MODE_KEY, mode);
}
