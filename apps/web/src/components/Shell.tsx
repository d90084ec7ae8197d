import { useCallback, useEffect, useRef, useState } from "react";
import { useLocation } from "wouter";
import type { State } from "../state/reducer.js";
import { useApp, useAppState } from "../state/context.js";
import { AccountDialog } from "./AccountDialog.js";
import { AddressSync } from "./AddressSync.js";
import { SearchPanel } from "./SearchPanel.js";
import { ChatPane } from "./ChatPane.js";
import { ConnectionBanner } from "./ConnectionBanner.js";
import { CloseIcon, LogoutIcon, MenuIcon } from "./icons.js";
import { ModeSwitch } from "./ModeSwitch.js";
import { Notices } from "./Notices.js";
import { Sidebar } from "./Sidebar.js";
import { SpeechControls } from "./SpeechControls.js";

// The signed-in app. Loaded as its own chunk (with Markdown and highlight.js)
// so the first screen's JavaScript stays small.

const selectList = (s: State) => s.list;
const selectMode = (s: State) => s.mode;
const selectCurrentId = (s: State) => s.currentId;
const selectReady = (s: State) => s.ready;

export default function Shell({ username }: { username: string }) {
  const app = useApp();
  const list = useAppState(selectList);
  const mode = useAppState(selectMode);
  const currentId = useAppState(selectCurrentId);
  const ready = useAppState(selectReady);
  const [drawer, setDrawer] = useState(false);
  const [, navigate] = useLocation();
  const [accountOpen, setAccountOpen] = useState(false);
  const composer = useRef<HTMLTextAreaElement>(null);
  const menuButton = useRef<HTMLButtonElement>(null);

  // Signed in: the question box is where a student starts.
  useEffect(() => {
    if (window.matchMedia?.("(min-width: 768px)").matches) composer.current?.focus();
  }, []);

  const closeDrawer = useCallback((focusComposer: boolean) => {
    setDrawer(false);
    if (focusComposer) requestAnimationFrame(() => composer.current?.focus());
  }, []);

  useEffect(() => {
    if (!drawer) return;
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape") {
        setDrawer(false);
        menuButton.current?.focus();
      }
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, [drawer]);

  // Two rows: the name gets the whole width (at 375 px it was cut to a few
  // letters beside the buttons), the two buttons share the row below it.
  const footer = (
    <div className="mt-1 px-3 py-2 text-sm">
      <div className="flex items-center gap-2">
        <span className="flex h-7 w-7 shrink-0 items-center justify-center rounded-full bg-slate-200 text-xs font-semibold uppercase dark:bg-slate-700" aria-hidden="true">
          {username.slice(0, 1)}
        </span>
        <span className="min-w-0 flex-1 truncate" title={username} data-testid="signed-in-as">
          <span className="sr-only">Signed in as </span>
          {username}
        </span>
      </div>
      <div className="mt-1 flex gap-1">
        <button
          type="button"
          onClick={() => setAccountOpen(true)}
          className="flex-1 rounded-lg px-2 py-1.5 text-slate-700 hover:bg-slate-100 dark:text-slate-300 dark:hover:bg-slate-800"
        >
          Account
        </button>
        <button
          type="button"
          onClick={() => {
            // The next student to sign in here starts at the start page, not at this one's conversation.
            navigate("/", { replace: true });
            void app.signOut();
          }}
          className="flex flex-1 items-center justify-center gap-1 rounded-lg px-2 py-1.5 text-slate-600 hover:bg-slate-100 dark:text-slate-300 dark:hover:bg-slate-800"
        >
          <LogoutIcon /> Sign out
        </button>
      </div>
    </div>
  );

  return (
    <div className="flex h-full flex-col">
      <AddressSync />
      <a
        href="#composer"
        className="sr-only focus:not-sr-only focus:absolute focus:top-2 focus:left-2 focus:z-50 focus:rounded focus:bg-white focus:px-3 focus:py-2 focus:shadow dark:focus:bg-slate-800"
      >
        Skip to the question box
      </a>
      <header className="flex items-center gap-2 border-b border-slate-200 px-2 py-1.5 sm:px-4 dark:border-slate-800">
        <button
          ref={menuButton}
          type="button"
          onClick={() => setDrawer((d) => !d)}
          aria-expanded={drawer}
          aria-controls="sidebar"
          className="flex h-9 w-9 items-center justify-center rounded-lg hover:bg-slate-100 md:hidden dark:hover:bg-slate-800"
        >
          <MenuIcon />
          <span className="sr-only">Conversations</span>
        </button>
        <span className="flex items-center gap-2 font-bold">
          <span className="hidden h-7 w-7 items-center justify-center rounded-lg bg-indigo-600 text-xs text-white sm:flex" aria-hidden="true">
            {"</>"}
          </span>
          <span className="hidden sm:inline">CS Tutor</span>
        </span>
        <div className="ml-auto flex items-center gap-1 sm:gap-3">
          <ModeSwitch
            mode={mode}
            onChange={(m) => {
              void app.setMode(m);
            }}
          />
          <SpeechControls />
        </div>
      </header>
      <ConnectionBanner />
      <div className="relative flex min-h-0 flex-1">
        {drawer ? (
          <div className="fixed inset-0 z-30 bg-slate-900/40 md:hidden" aria-hidden="true" onClick={() => closeDrawer(false)} />
        ) : null}
        <aside
          id="sidebar"
          className={`${
            drawer ? "fixed inset-y-0 left-0 z-40 flex shadow-xl" : "hidden"
          } w-[85vw] max-w-xs flex-col border-r border-slate-200 bg-slate-50 md:static md:z-auto md:flex md:w-72 md:max-w-none md:shadow-none dark:border-slate-800 dark:bg-slate-900`}
        >
          {drawer ? (
            <div className="flex justify-end p-1 md:hidden">
              <button type="button" onClick={() => closeDrawer(false)} className="rounded-lg p-2 hover:bg-slate-200 dark:hover:bg-slate-800">
                <CloseIcon />
                <span className="sr-only">Close conversations</span>
              </button>
            </div>
          ) : null}
          <SearchPanel onOpened={() => closeDrawer(false)} />
          <Sidebar
            mode={mode}
            items={list.items}
            currentId={currentId}
            loading={list.loading}
            loaded={list.loaded}
            error={list.error}
            hasMore={list.nextCursor !== null}
            disabled={!ready}
            onSelect={(id) => {
              void app.openConversation(id);
              closeDrawer(true);
            }}
            onNew={() => {
              void app.newConversation();
              closeDrawer(true);
              composer.current?.focus();
            }}
            onRename={(id, title) => app.rename(id, title)}
            onDelete={(id) => app.remove(id)}
            onClearAll={() => app.clearAll(mode)}
            onLoadMore={() => void app.loadList(false)}
            footer={footer}
          />
        </aside>
        <main className="min-w-0 flex-1">
          <ChatPane composerRef={composer} />
        </main>
      </div>
      <Notices />
      {accountOpen ? <AccountDialog username={username} onClose={() => setAccountOpen(false)} /> : null}
    </div>
  );
}
