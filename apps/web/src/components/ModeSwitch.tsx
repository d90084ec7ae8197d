import type { TeachingMode } from "@tutor/protocol";
import { TEACHING_MODES } from "@tutor/protocol";
import { MODE_LABEL } from "./Sidebar.js";

export function ModeSwitch({ mode, onChange }: { mode: TeachingMode; onChange(mode: TeachingMode): void }) {
  return (
    <div role="group" aria-label="Teaching mode" className="flex rounded-lg bg-slate-100 p-0.5 dark:bg-slate-800">
      {TEACHING_MODES.map((m) => (
        <button
          key={m}
          type="button"
          aria-pressed={m === mode}
          onClick={() => onChange(m)}
          className="rounded-md px-2.5 py-1 text-sm font-medium text-slate-600 aria-pressed:bg-white aria-pressed:text-slate-900 aria-pressed:shadow-sm sm:px-3 dark:text-slate-300 dark:aria-pressed:bg-slate-950 dark:aria-pressed:text-white"
        >
          {MODE_LABEL[m]}
        </button>
      ))}
    </div>
  );
}
