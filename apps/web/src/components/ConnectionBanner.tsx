import { useEffect, useState } from "react";
import type { State } from "../state/reducer.js";
import { useApp, useAppState } from "../state/context.js";

const selectConnection = (s: State) => s.connection;
const selectReady = (s: State) => s.ready;
const selectAuth = (s: State) => s.auth.status;

function useNow(active: boolean): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!active) return;
    const t = setInterval(() => setNow(Date.now()), 500);
    return () => clearInterval(t);
  }, [active]);
  return now;
}

/** Says when the server cannot be reached and when the next attempt is. */
export function ConnectionBanner() {
  const app = useApp();
  const conn = useAppState(selectConnection);
  const ready = useAppState(selectReady);
  const auth = useAppState(selectAuth);
  const now = useNow(conn.status === "waiting");

  let text: string | null = null;
  let retry = false;
  if (conn.status === "waiting") {
    const secs = Math.max(0, Math.ceil((conn.retryAt - now) / 1000));
    text = `Connection to the tutor lost. Reconnecting${secs > 0 ? ` in ${secs} s…` : "…"}`;
    retry = true;
  } else if (conn.status === "connecting" && conn.attempt > 1) {
    text = "Connection to the tutor lost. Reconnecting now…";
  } else if (conn.status === "open" && !ready && auth === "signed_in") {
    text = "Reconnected. Restoring your session…";
  }

  return (
    <div role="status" aria-live="polite" className={text ? "" : "sr-only"}>
      {text ? (
        <div className="flex flex-wrap items-center justify-center gap-x-3 gap-y-1 bg-amber-100 px-4 py-2 text-sm text-amber-950 dark:bg-amber-900/60 dark:text-amber-50">
          <span>{text}</span>
          {retry ? (
            <button type="button" onClick={() => app.client.reconnectNow()} className="rounded font-semibold underline underline-offset-2">
              Retry now
            </button>
          ) : null}
        </div>
      ) : null}
    </div>
  );
}
