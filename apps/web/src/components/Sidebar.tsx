// The conversation list of one mode: newest first, infinite scroll over the
// cursor API, rename in place, delete and clear-all behind a confirmation.
import { courseBadge } from "./CourseBar.js";
import { useEffect, useRef, useState, type KeyboardEvent, type ReactNode } from "react";
import type { ConversationSummary, TeachingMode } from "@tutor/protocol";
import { fullTime, relativeTime } from "../lib/time.js";
import { plainPreview } from "../lib/preview.js";
import { ConfirmDialog } from "./ConfirmDialog.js";
import { PencilIcon, PlusIcon, TrashIcon } from "./icons.js";

export const MODE_LABEL: Record<TeachingMode, string> = { teacher: "Teacher", qa: "Q&A" };

export interface SidebarProps {
  mode: TeachingMode;
  items: ConversationSummary[];
  currentId: string | null;
  loading: boolean;
  loaded: boolean;
  error: string | null;
  hasMore: boolean;
  /** Actions need a live connection. */
  disabled?: boolean;
  onSelect(id: string): void;
  onNew(): void;
  /** Each returns an error to show, or null on success. */
  onRename(id: string, title: string): Promise<string | null>;
  onDelete(id: string): Promise<string | null>;
  onClearAll(): Promise<string | null>;
  onLoadMore(): void;
  footer?: ReactNode;
  /** Where relative times are measured from (tests pin it). */
  now?: number;
}

type Confirm = { kind: "delete"; item: ConversationSummary } | { kind: "clear" } | null;

function preview(c: ConversationSummary): string {
  if (!c.last_message) return "No messages yet";
  const who = c.last_message.type === "user" ? "You: " : "";
  return who + plainPreview(c.last_message.content);
}

export function Sidebar(props: SidebarProps) {
  const { mode, items, currentId, loading, loaded, error, hasMore, disabled = false, now } = props;
  const [renaming, setRenaming] = useState<string | null>(null);
  const [confirm, setConfirm] = useState<Confirm>(null);
  const [busy, setBusy] = useState(false);
  const [confirmError, setConfirmError] = useState<string | null>(null);
  const [rowError, setRowError] = useState<{ id: string; text: string } | null>(null);
  const scroller = useRef<HTMLDivElement>(null);
  const sentinel = useRef<HTMLLIElement>(null);
  const newButton = useRef<HTMLButtonElement>(null);
  const focusAfter = useRef<string | null>(null);
  const onLoadMore = useRef(props.onLoadMore);
  onLoadMore.current = props.onLoadMore;

  // Infinite scroll: ask for the next page when the end of the list comes into view.
  useEffect(() => {
    const el = sentinel.current;
    if (!el || !hasMore || loading || typeof IntersectionObserver === "undefined") return;
    const io = new IntersectionObserver(
      (entries) => {
        if (entries.some((e) => e.isIntersecting)) onLoadMore.current();
      },
      { root: scroller.current, rootMargin: "200px" },
    );
    io.observe(el);
    return () => io.disconnect();
  }, [hasMore, loading, items.length]);

  // Put focus back on a row after rename/delete so keyboard users keep their place.
  useEffect(() => {
    const target = focusAfter.current;
    if (!target || renaming) return;
    focusAfter.current = null;
    const el =
      target === "new"
        ? newButton.current
        : scroller.current?.querySelector<HTMLElement>(`[data-conversation="${CSS.escape(target)}"]`);
    el?.focus();
  });

  const startRename = (id: string) => {
    setRowError(null);
    setRenaming(id);
  };

  const finishRename = async (item: ConversationSummary, title: string | null) => {
    setRenaming(null);
    focusAfter.current = item.id;
    if (title === null || title.trim() === item.title) return;
    const err = await props.onRename(item.id, title);
    if (err) setRowError({ id: item.id, text: err });
  };

  const doConfirm = async () => {
    if (!confirm) return;
    setBusy(true);
    setConfirmError(null);
    let err: string | null;
    if (confirm.kind === "delete") {
      const idx = items.findIndex((c) => c.id === confirm.item.id);
      const neighbour = items[idx + 1] ?? items[idx - 1];
      err = await props.onDelete(confirm.item.id);
      focusAfter.current = neighbour ? neighbour.id : "new";
    } else {
      err = await props.onClearAll();
      focusAfter.current = "new";
    }
    setBusy(false);
    if (err) setConfirmError(err);
    else setConfirm(null);
  };

  return (
    <nav aria-label={`${MODE_LABEL[mode]} conversations`} className="flex h-full min-h-0 flex-col">
      <div className="p-3">
        <button
          ref={newButton}
          type="button"
          onClick={props.onNew}
          className="flex w-full items-center justify-center gap-2 rounded-lg border border-slate-300 bg-white px-3 py-2 text-sm font-medium shadow-sm hover:bg-slate-50 dark:border-slate-600 dark:bg-slate-900 dark:hover:bg-slate-800"
        >
          <PlusIcon /> New conversation
        </button>
      </div>
      <h2 className="px-4 pb-1 text-xs font-semibold tracking-wide text-slate-500 uppercase dark:text-slate-400">
        {MODE_LABEL[mode]} conversations
      </h2>
      <div ref={scroller} className="min-h-0 flex-1 overflow-y-auto px-2 pb-2">
        {loaded && items.length === 0 && !loading ? (
          <p className="px-2 py-4 text-sm text-slate-600 dark:text-slate-300">
            No {MODE_LABEL[mode]} conversations yet. Ask something to start one.
          </p>
        ) : null}
        <ul className="space-y-0.5">
          {items.map((c) => {
            const current = c.id === currentId;
            const time = relativeTime(c.updated_at, now);
            return (
              <li key={c.id}>
                {renaming === c.id ? (
                  <RenameField item={c} onDone={(t) => void finishRename(c, t)} />
                ) : (
                  <div
                    className={`group relative flex items-stretch rounded-lg ${
                      current
                        ? "bg-indigo-50 ring-1 ring-indigo-200 dark:bg-indigo-950/60 dark:ring-indigo-800"
                        : "hover:bg-slate-100 dark:hover:bg-slate-800/70"
                    }`}
                  >
                    <button
                      type="button"
                      data-conversation={c.id}
                      aria-current={current ? "page" : undefined}
                      onClick={() => props.onSelect(c.id)}
                      onDoubleClick={() => !disabled && startRename(c.id)}
                      onKeyDown={(e) => {
                        if (e.key === "F2" && !disabled) startRename(c.id);
                      }}
                      className="min-w-0 flex-1 rounded-lg px-3 py-2 text-left"
                    >
                      <span className="flex items-baseline gap-2">
                        <span className={`truncate text-sm ${current ? "font-semibold" : "font-medium"}`}>{c.title}</span>
                        {c.teaching_mode === "teacher" && courseBadge(c.course) ? (
                          <span className="course-badge shrink-0 rounded bg-indigo-100 px-1.5 text-[0.7rem] font-medium text-indigo-800 dark:bg-indigo-900/60 dark:text-indigo-200" title="Chapter of the course">
                            {courseBadge(c.course)}
                          </span>
                        ) : null}
                        <time
                          dateTime={c.updated_at}
                          title={fullTime(c.updated_at)}
                          className="ml-auto shrink-0 text-xs text-slate-600 dark:text-slate-300"
                        >
                          {time}
                        </time>
                      </span>
                      <span className="mt-0.5 block truncate pr-14 text-xs text-slate-600 dark:text-slate-300">
                        {preview(c)}
                      </span>
                    </button>
                    <span
                      className={`absolute right-1 bottom-1 flex gap-0.5 ${
                        current ? "" : "opacity-100 md:opacity-0 md:group-focus-within:opacity-100 md:group-hover:opacity-100"
                      }`}
                    >
                      <button
                        type="button"
                        disabled={disabled}
                        onClick={() => startRename(c.id)}
                        aria-label={`Rename “${c.title}”`}
                        title="Rename"
                        className="rounded p-1 text-slate-500 hover:bg-slate-200 hover:text-slate-900 disabled:opacity-40 dark:hover:bg-slate-700 dark:hover:text-white"
                      >
                        <PencilIcon />
                      </button>
                      <button
                        type="button"
                        disabled={disabled}
                        onClick={() => {
                          setConfirmError(null);
                          setConfirm({ kind: "delete", item: c });
                        }}
                        aria-label={`Delete “${c.title}”`}
                        title="Delete"
                        className="rounded p-1 text-slate-500 hover:bg-red-100 hover:text-red-700 disabled:opacity-40 dark:hover:bg-red-950 dark:hover:text-red-300"
                      >
                        <TrashIcon />
                      </button>
                    </span>
                  </div>
                )}
                {rowError?.id === c.id ? (
                  <p role="alert" className="px-3 pb-1 text-xs text-red-700 dark:text-red-400">
                    {rowError.text}
                  </p>
                ) : null}
              </li>
            );
          })}
          <li ref={sentinel} aria-hidden={!hasMore && !loading} className="px-2 py-1">
            {loading ? (
              <p role="status" className="text-xs text-slate-600 dark:text-slate-300">
                Loading conversations…
              </p>
            ) : hasMore ? (
              <button
                type="button"
                onClick={() => props.onLoadMore()}
                className="w-full rounded px-2 py-1 text-xs text-indigo-700 hover:underline dark:text-indigo-300"
              >
                Load more
              </button>
            ) : null}
            {error ? (
              <p role="alert" className="text-xs text-red-700 dark:text-red-400">
                {error}{" "}
                <button type="button" className="underline" onClick={() => props.onLoadMore()}>
                  Retry
                </button>
              </p>
            ) : null}
          </li>
        </ul>
      </div>
      <div className="border-t border-slate-200 p-2 dark:border-slate-800">
        <button
          type="button"
          disabled={disabled || items.length === 0}
          onClick={() => {
            setConfirmError(null);
            setConfirm({ kind: "clear" });
          }}
          className="flex w-full items-center gap-2 rounded-lg px-3 py-2 text-sm text-slate-600 hover:bg-red-50 hover:text-red-700 disabled:opacity-40 disabled:hover:bg-transparent disabled:hover:text-slate-600 dark:text-slate-300 dark:hover:bg-red-950 dark:hover:text-red-300"
        >
          <TrashIcon /> Clear all {MODE_LABEL[mode]} conversations
        </button>
        {props.footer}
      </div>
      {confirm ? (
        <ConfirmDialog
          title={confirm.kind === "delete" ? "Delete this conversation?" : `Clear all ${MODE_LABEL[mode]} conversations?`}
          confirmLabel={confirm.kind === "delete" ? "Delete" : "Clear all"}
          busy={busy}
          error={confirmError}
          onCancel={() => setConfirm(null)}
          onConfirm={() => void doConfirm()}
        >
          {confirm.kind === "delete" ? (
            <>
              “{confirm.item.title}” and its messages will be deleted. This cannot be undone.
            </>
          ) : (
            <>Every {MODE_LABEL[mode]} conversation and its messages will be deleted. This cannot be undone.</>
          )}
        </ConfirmDialog>
      ) : null}
    </nav>
  );
}

function RenameField({ item, onDone }: { item: ConversationSummary; onDone(title: string | null): void }) {
  const [value, setValue] = useState(item.title);
  const done = useRef(false);
  const finish = (title: string | null) => {
    if (done.current) return;
    done.current = true;
    onDone(title);
  };
  const onKeyDown = (e: KeyboardEvent<HTMLInputElement>) => {
    if (e.key === "Enter") {
      e.preventDefault();
      finish(value);
    } else if (e.key === "Escape") {
      e.preventDefault();
      finish(null);
    }
  };
  return (
    <form
      className="px-1 py-1"
      onSubmit={(e) => {
        e.preventDefault();
        finish(value);
      }}
    >
      <label className="sr-only" htmlFor={`rename-${item.id}`}>
        New title for “{item.title}”
      </label>
      <input
        id={`rename-${item.id}`}
        autoFocus
        value={value}
        maxLength={200}
        onChange={(e) => setValue(e.target.value)}
        onKeyDown={onKeyDown}
        onBlur={() => finish(value)}
        onFocus={(e) => e.currentTarget.select()}
        className="w-full rounded-md border border-indigo-400 bg-white px-2 py-1.5 text-sm outline-none focus:ring-2 focus:ring-indigo-400 dark:bg-slate-900"
      />
      <span className="sr-only">Press Enter to save or Escape to cancel.</span>
    </form>
  );
}
