// The search box above the conversation list: results as the student types
// (a short pause, then one request), each with its snippet, the matches
// highlighted as <mark> elements built from text (never raw HTML). Enter
// opens the first result (or the one focused) at its message; `/` or Ctrl+K
// focuses the box from anywhere.
import { useEffect, useRef, useState } from "react";
import type { State } from "../state/reducer.js";
import { useApp, useAppState } from "../state/context.js";
import { snippetParts } from "../state/search.js";
import { fullTime } from "../lib/time.js";
import { MODE_LABEL } from "./Sidebar.js";

const DEBOUNCE_MS = 150;
const selectSearch = (s: State) => s.search;
const selectReady = (s: State) => s.ready;

export function SearchPanel({ onOpened }: { onOpened(): void }) {
  const app = useApp();
  const search = useAppState(selectSearch);
  const ready = useAppState(selectReady);
  const [text, setText] = useState("");
  const input = useRef<HTMLInputElement>(null);
  const list = useRef<HTMLUListElement>(null);

  useEffect(() => {
    const t = setTimeout(() => void app.search.run(text), text.trim() ? DEBOUNCE_MS : 0);
    return () => clearTimeout(t);
  }, [app, text, ready]);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const target = e.target as HTMLElement | null;
      const typing = target?.closest("input, textarea, select, [contenteditable=true]") !== null && target !== null;
      if ((e.key === "k" && (e.ctrlKey || e.metaKey)) || (e.key === "/" && !typing && !e.ctrlKey && !e.metaKey && !e.altKey)) {
        e.preventDefault();
        input.current?.focus();
        input.current?.select();
      }
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, []);

  const open = (i: number) => {
    const r = search.results[i];
    if (!r) return;
    void app.openConversation(r.conversation_id, r.message_id);
    setText("");
    app.search.clear();
    onOpened();
  };

  const active = text.trim() !== "";
  return (
    <div className="px-3 pt-3" role="search">
      <label htmlFor="search-box" className="sr-only">
        Search your conversations
      </label>
      <input
        ref={input}
        id="search-box"
        type="search"
        value={text}
        placeholder="Search (/ or Ctrl+K)"
        autoComplete="off"
        aria-controls={active && search.results.length > 0 ? "search-results" : undefined}
        aria-describedby="search-status"
        onChange={(e) => setText(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === "Enter") {
            e.preventDefault();
            open(0);
          } else if (e.key === "ArrowDown") {
            e.preventDefault();
            list.current?.querySelector<HTMLButtonElement>("button")?.focus();
          } else if (e.key === "Escape") {
            setText("");
          }
        }}
        className="w-full rounded-lg border border-slate-300 bg-white px-3 py-2 text-sm placeholder:text-slate-600 dark:border-slate-600 dark:bg-slate-900 dark:placeholder:text-slate-400"
      />
      <p id="search-status" role="status" className={active ? "mt-1 px-1 text-xs text-slate-700 dark:text-slate-300" : "sr-only"}>
        {!active ? "" : search.error ? search.error : search.loading && search.results.length === 0 ? "Searching…" : `${search.results.length} ${search.results.length === 1 ? "match" : "matches"}`}
      </p>
      {active && search.results.length > 0 ? (
        <ul
          id="search-results"
          ref={list}
          aria-label="Search results"
          className="mt-1 max-h-[50vh] space-y-1 overflow-y-auto rounded-lg border border-slate-200 bg-white p-1 dark:border-slate-700 dark:bg-slate-900"
          onKeyDown={(e) => {
            const buttons = [...(list.current?.querySelectorAll<HTMLButtonElement>("button") ?? [])];
            const at = buttons.indexOf(document.activeElement as HTMLButtonElement);
            if (e.key === "ArrowDown" && at < buttons.length - 1) {
              e.preventDefault();
              buttons[at + 1]?.focus();
            } else if (e.key === "ArrowUp") {
              e.preventDefault();
              (at > 0 ? buttons[at - 1] : input.current)?.focus();
            } else if (e.key === "Escape") {
              setText("");
              input.current?.focus();
            }
          }}
        >
          {search.results.map((r, i) => (
            <li key={r.message_id}>
              <button
                type="button"
                onClick={() => open(i)}
                className="search-result block w-full rounded-md px-2 py-1.5 text-left text-sm hover:bg-slate-100 dark:hover:bg-slate-800"
              >
                <span className="flex items-baseline gap-2">
                  <span className="min-w-0 flex-1 truncate font-medium">{r.title}</span>
                  <span className="shrink-0 text-xs text-slate-700 dark:text-slate-300">{MODE_LABEL[r.teaching_mode]}</span>
                </span>
                <span className="mt-0.5 block text-xs text-slate-700 [overflow-wrap:anywhere] dark:text-slate-300">
                  {snippetParts(r.snippet).map((p, j) => (p.hit ? <mark key={j} className="search-hit">{p.text}</mark> : <span key={j}>{p.text}</span>))}
                </span>
                <span className="mt-0.5 block text-xs text-slate-700 dark:text-slate-300">{fullTime(r.timestamp)}</span>
              </button>
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}
