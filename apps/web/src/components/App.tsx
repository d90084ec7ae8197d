import { lazy, Suspense } from "react";
import type { State } from "../state/reducer.js";
import { useAppState } from "../state/context.js";
import { AuthScreen } from "./AuthScreen.js";
import { ConnectionBanner } from "./ConnectionBanner.js";
import { Notices } from "./Notices.js";

const selectAuth = (s: State) => s.auth;

export const loadShell = () => import("./Shell.js");
const Shell = lazy(loadShell);

function Centered({ text }: { text: string }) {
  return (
    <main className="flex h-full items-center justify-center">
      <p role="status" className="text-slate-600 dark:text-slate-300">
        {text}
      </p>
    </main>
  );
}

export function App() {
  const auth = useAppState(selectAuth);
  if (auth.status === "signed_in") {
    return (
      <Suspense fallback={<Centered text="Loading…" />}>
        <Shell username={auth.user?.username ?? ""} />
      </Suspense>
    );
  }
  return (
    <>
      <ConnectionBanner />
      {auth.status === "checking" ? <Centered text="Signing you in…" /> : <AuthScreen />}
      <Notices />
    </>
  );
}
