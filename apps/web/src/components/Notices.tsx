import { useEffect } from "react";
import type { Notice, State } from "../state/reducer.js";
import { useApp, useAppState } from "../state/context.js";
import { CloseIcon } from "./icons.js";

const selectNotices = (s: State) => s.notices;
const INFO_MS = 8000;

function NoticeItem({ notice }: { notice: Notice }) {
  const app = useApp();
  useEffect(() => {
    if (notice.kind !== "info") return;
    const t = setTimeout(() => app.dismissNotice(notice.id), INFO_MS);
    return () => clearTimeout(t);
  }, [app, notice]);
  const error = notice.kind === "error";
  return (
    <div
      role={error ? "alert" : "status"}
      className={`pointer-events-auto flex items-start gap-2 rounded-lg px-4 py-3 text-sm shadow-lg ring-1 ${
        error
          ? "bg-red-50 text-red-900 ring-red-200 dark:bg-red-950 dark:text-red-100 dark:ring-red-800"
          : "bg-white text-slate-800 ring-slate-200 dark:bg-slate-800 dark:text-slate-100 dark:ring-slate-700"
      }`}
    >
      <span className="flex-1">{notice.text}</span>
      <button type="button" onClick={() => app.dismissNotice(notice.id)} aria-label="Dismiss" className="-m-1 rounded p-1 opacity-70 hover:opacity-100">
        <CloseIcon />
      </button>
    </div>
  );
}

/** Readable messages for failures that have no better place on screen. */
export function Notices() {
  const notices = useAppState(selectNotices);
  return (
    <div aria-label="Notifications" role="region" className="pointer-events-none fixed inset-x-3 bottom-24 z-50 flex flex-col items-center gap-2 sm:inset-x-auto sm:right-4 sm:items-end">
      {notices.map((n) => (
        <NoticeItem key={n.id} notice={n} />
      ))}
    </div>
  );
}
