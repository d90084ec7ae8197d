// The account screen: download everything, import a download, change the
// password, delete the account (password and a second confirmation).
import { useId, useRef, useState, type FormEvent, type KeyboardEvent } from "react";
import { useApp } from "../state/context.js";
import { ConfirmDialog } from "./ConfirmDialog.js";
import { Modal } from "./Modal.js";

type Status = { kind: "ok" | "error"; text: string } | null;

function StatusLine({ status }: { status: Status }) {
  if (!status) return null;
  return (
    <p role={status.kind === "error" ? "alert" : "status"} className={`mt-2 text-sm ${status.kind === "error" ? "text-red-700 dark:text-red-300" : "text-emerald-800 dark:text-emerald-300"}`}>
      {status.text}
    </p>
  );
}

const field = "mt-1 w-full rounded-lg border border-slate-300 bg-white px-3 py-2 text-sm dark:border-slate-600 dark:bg-slate-950";

function PasswordField(props: { label: string; autoComplete: "current-password" | "new-password"; value: string; onChange(v: string): void; className?: string }) {
  return (
    <label className={`block text-sm ${props.className ?? ""}`}>
      {props.label}
      <input type="password" autoComplete={props.autoComplete} value={props.value} onChange={(e) => props.onChange(e.target.value)} className={field} />
    </label>
  );
}
const button = "rounded-lg border border-slate-300 px-3 py-2 text-sm font-medium hover:bg-slate-100 disabled:opacity-60 dark:border-slate-600 dark:hover:bg-slate-800";

export function AccountDialog({ username, onClose }: { username: string; onClose(): void }) {
  const app = useApp();
  const titleId = useId();
  const box = useRef<HTMLDivElement>(null);
  const fileInput = useRef<HTMLInputElement>(null);
  const [dataStatus, setDataStatus] = useState<Status>(null);
  const [pwStatus, setPwStatus] = useState<Status>(null);
  const [delStatus, setDelStatus] = useState<Status>(null);
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [delPassword, setDelPassword] = useState("");
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);

  const onKeyDown = (e: KeyboardEvent) => {
    if (e.key === "Escape" && !confirming) {
      e.stopPropagation();
      onClose();
    }
  };

  const changePassword = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    const r = await app.account.changePassword(current, next);
    setBusy(false);
    setPwStatus(r.ok ? { kind: "ok", text: r.message ?? "Password changed." } : { kind: "error", text: r.error });
    if (r.ok) {
      setCurrent("");
      setNext("");
    }
  };

  const deleteAccount = async () => {
    setBusy(true);
    const r = await app.account.deleteAccount(delPassword);
    setBusy(false);
    if (!r.ok) {
      setConfirming(false);
      setDelStatus({ kind: "error", text: r.error });
    }
  };

  return (
    <>
      <Modal tall labelledBy={titleId} boxRef={box} initialFocus={() => box.current?.querySelector<HTMLElement>("h2")} onDismiss={onClose} onKeyDown={onKeyDown}>
        <div className="flex items-center gap-2">
          <h2 id={titleId} tabIndex={-1} className="flex-1 text-lg font-semibold outline-none">
            Your account
          </h2>
          <button type="button" onClick={onClose} className={button}>
            Close
          </button>
        </div>
        <p className="mt-1 text-sm text-slate-700 dark:text-slate-300">Signed in as {username}</p>

        <section aria-labelledby="acc-data" className="mt-5">
          <h3 id="acc-data" className="font-semibold">
            Your data
          </h3>
          <p className="mt-1 text-sm text-slate-700 dark:text-slate-300">Every conversation as one JSON file, to keep or to import into another account.</p>
          <div className="mt-2 flex flex-wrap gap-2">
            <button
              type="button"
              className={button}
              onClick={async () => {
                const r = await app.account.exportAccount();
                setDataStatus(r.ok ? { kind: "ok", text: "Download started." } : { kind: "error", text: r.error });
              }}
            >
              Download my data
            </button>
            <button type="button" className={button} onClick={() => fileInput.current?.click()}>
              Import
            </button>
            <input
              ref={fileInput}
              type="file"
              accept="application/json,.json"
              className="sr-only"
              aria-label="Import a CS Tutor download"
              tabIndex={-1}
              onChange={async (e) => {
                const file = e.target.files?.[0];
                e.target.value = "";
                if (!file) return;
                const r = await app.account.importFile(file);
                setDataStatus(r.ok ? { kind: "ok", text: r.message ?? "Imported." } : { kind: "error", text: r.error });
                if (r.ok) void app.loadList(true);
              }}
            />
          </div>
          <StatusLine status={dataStatus} />
        </section>

        <section aria-labelledby="acc-password" className="mt-6">
          <h3 id="acc-password" className="font-semibold">
            Change password
          </h3>
          <form onSubmit={(e) => void changePassword(e)} className="mt-2 space-y-2">
            <PasswordField label="Current password" autoComplete="current-password" value={current} onChange={setCurrent} />
            <PasswordField label="New password" autoComplete="new-password" value={next} onChange={setNext} />
            <button type="submit" disabled={busy} className={button}>
              Change password
            </button>
          </form>
          <StatusLine status={pwStatus} />
        </section>

        <section aria-labelledby="acc-delete" className="mt-6 rounded-lg border border-red-300 p-3 dark:border-red-800">
          <h3 id="acc-delete" className="font-semibold text-red-800 dark:text-red-300">
            Delete account
          </h3>
          <p className="mt-1 text-sm text-slate-700 dark:text-slate-300">Removes the account and every conversation for good. Download your data first if you want to keep it.</p>
          <PasswordField className="mt-2" label="Password" autoComplete="current-password" value={delPassword} onChange={setDelPassword} />
          <button
            type="button"
            className="mt-2 rounded-lg bg-red-700 px-3 py-2 text-sm font-medium text-white hover:bg-red-800"
            onClick={() => {
              if (!delPassword) setDelStatus({ kind: "error", text: "Enter your password to confirm." });
              else setConfirming(true);
            }}
          >
            Delete my account
          </button>
          <StatusLine status={delStatus} />
        </section>
      </Modal>
      {confirming ? (
        <ConfirmDialog title="Delete your account?" confirmLabel="Delete everything" busy={busy} onConfirm={() => void deleteAccount()} onCancel={() => setConfirming(false)}>
          Your account and all of its conversations will be removed. This cannot be undone.
        </ConfirmDialog>
      ) : null}
    </>
  );
}
