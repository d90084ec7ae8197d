// The frame the dialogs share: a dimmed backdrop (pressing on it dismisses),
// the box with its ARIA role, focus moved in on open and given back to where
// it came from on close. Each dialog keeps its own keys (Escape, Tab trap).
import { useEffect, type KeyboardEvent, type ReactNode, type RefObject } from "react";

export interface ModalProps {
  role?: "dialog" | "alertdialog";
  labelledBy: string;
  describedBy?: string;
  boxRef: RefObject<HTMLDivElement | null>;
  /** What takes focus when the dialog opens. */
  initialFocus(): HTMLElement | null | undefined;
  onDismiss(): void;
  onKeyDown(e: KeyboardEvent): void;
  /** A tall dialog: a wider box, top-aligned and scrolling on small screens. */
  tall?: boolean;
  children: ReactNode;
}

export function Modal({ role = "dialog", labelledBy, describedBy, boxRef, initialFocus, onDismiss, onKeyDown, tall = false, children }: ModalProps) {
  useEffect(() => {
    const opener = document.activeElement as HTMLElement | null;
    initialFocus()?.focus();
    return () => {
      if (opener?.isConnected) opener.focus();
    };
    // On open and close only: the focus target is read once.
  }, []);

  return (
    <div
      className={`fixed inset-0 z-50 flex justify-center bg-slate-900/50 p-4 ${tall ? "items-start overflow-y-auto sm:items-center" : "items-center"}`}
      onMouseDown={(e) => e.target === e.currentTarget && onDismiss()}
    >
      <div
        ref={boxRef}
        role={role}
        aria-modal="true"
        aria-labelledby={labelledBy}
        aria-describedby={describedBy}
        onKeyDown={onKeyDown}
        className={`w-full ${tall ? "max-w-lg" : "max-w-sm"} rounded-xl bg-white p-5 shadow-xl dark:bg-slate-900 dark:ring-1 dark:ring-slate-700`}
      >
        {children}
      </div>
    </div>
  );
}
