// Keeps the address and the open conversation together (wouter over the
// History API): opening a conversation pushes `/c/<id>`, back/forward open
// the conversation the address names, and a reload comes back to it (the
// controller opens the address's conversation after sign-in).
import { useEffect, useRef } from "react";
import { useLocation, useRoute } from "wouter";
import type { State } from "../state/reducer.js";
import { useApp, useAppState } from "../state/context.js";
import { conversationPath } from "../state/address.js";

const selectCurrentId = (s: State) => s.currentId;
const selectMissingId = (s: State) => s.missingId;

export function AddressSync() {
  const app = useApp();
  const [location, navigate] = useLocation();
  const [match, params] = useRoute<{ id: string }>("/c/:id");
  const named = match ? params.id : null;
  const currentId = useAppState(selectCurrentId);
  const missingId = useAppState(selectMissingId);
  const shown = useRef<string | null>(currentId);

  // The address changed (back/forward, a link): open what it names.
  useEffect(() => {
    const state = app.state;
    if (named && named !== state.currentId && named !== state.missingId) void app.openConversation(named);
  }, [app, named]);

  // The shown conversation changed: the address follows.
  useEffect(() => {
    const previous = shown.current;
    shown.current = currentId;
    const want = currentId ? conversationPath(currentId) : missingId ? conversationPath(missingId) : previous ? "/" : null;
    if (want === null || want === location) return;
    // Replacing the start page keeps Back from landing on an empty screen.
    navigate(want, { replace: location === "/" || want === "/" });
    // `location` is read, not followed: the other effect handles address changes.
  }, [currentId, missingId, navigate]);

  return null;
}
