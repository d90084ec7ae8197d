// Sign in / create account, with errors next to the field they concern; a
// throttled attempt counts its wait down and the button comes back by itself.
import { useEffect, useId, useRef, useState, type FormEvent, type RefObject } from "react";
import { PASSWORD_MIN } from "@tutor/protocol";
import type { AuthField } from "../state/controller.js";
import type { State } from "../state/reducer.js";
import { useApp, useAppState } from "../state/context.js";
import { WaitText, useNow } from "./Limits.js";

type Tab = "signin" | "register";
const selectConnected = (s: State) => s.connection.status === "open";

function Field(props: {
  id: string;
  label: string;
  type: string;
  value: string;
  onChange(v: string): void;
  autoComplete: string;
  error?: string | undefined;
  hint?: string | undefined;
  inputRef?: RefObject<HTMLInputElement | null>;
  required?: boolean;
}) {
  const hintId = `${props.id}-hint`;
  const errId = `${props.id}-error`;
  const described = [props.hint ? hintId : null, props.error ? errId : null].filter(Boolean).join(" ") || undefined;
  return (
    <div>
      <label htmlFor={props.id} className="block text-sm font-medium">
        {props.label}
      </label>
      <input
        id={props.id}
        ref={props.inputRef}
        type={props.type}
        value={props.value}
        autoComplete={props.autoComplete}
        required={props.required}
        aria-invalid={props.error ? true : undefined}
        aria-describedby={described}
        onChange={(e) => props.onChange(e.target.value)}
        className={`mt-1 block w-full rounded-lg border bg-white px-3 py-2 outline-none focus:ring-2 focus:ring-indigo-400 dark:bg-slate-900 ${
          props.error ? "border-red-500" : "border-slate-300 dark:border-slate-600"
        }`}
      />
      {props.hint ? (
        <p id={hintId} className="mt-1 text-xs text-slate-600 dark:text-slate-300">
          {props.hint}
        </p>
      ) : null}
      {props.error ? (
        <p id={errId} className="mt-1 text-sm text-red-700 dark:text-red-400">
          {props.error}
        </p>
      ) : null}
    </div>
  );
}

export function AuthScreen() {
  const app = useApp();
  const connected = useAppState(selectConnected);
  const [tab, setTab] = useState<Tab>("signin");
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [email, setEmail] = useState("");
  const [errors, setErrors] = useState<Partial<Record<AuthField, string>>>({});
  const [submitting, setSubmitting] = useState(false);
  /** The server throttled sign-ins until then (epoch ms). */
  const [retryUntil, setRetryUntil] = useState<number | null>(null);
  const now = useNow(retryUntil !== null);
  const waiting = retryUntil !== null && retryUntil > now;
  const uid = useId();
  const refs = {
    username: useRef<HTMLInputElement>(null),
    password: useRef<HTMLInputElement>(null),
    email: useRef<HTMLInputElement>(null),
  };
  const formError = useRef<HTMLParagraphElement>(null);

  const usernameRef = refs.username;
  useEffect(() => {
    usernameRef.current?.focus();
  }, [tab, usernameRef]);

  const switchTab = (t: Tab) => {
    setTab(t);
    setErrors({});
  };

  // The wait is over: the throttle's message goes and the button is back.
  useEffect(() => {
    if (retryUntil === null || waiting) return;
    setRetryUntil(null);
    setErrors((e) => (e.form ? {} : e));
  }, [retryUntil, waiting]);

  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    if (submitting || waiting) return;
    setSubmitting(true);
    setErrors({});
    setRetryUntil(null);
    const res =
      tab === "signin" ? await app.signIn(username.trim(), password) : await app.register(username.trim(), password, email.trim());
    setSubmitting(false);
    if (res.ok) return;
    setErrors({ [res.field]: res.error });
    if (res.retryAfterS !== undefined) setRetryUntil(Date.now() + res.retryAfterS * 1000);
    if (res.field === "form") formError.current?.focus();
    else refs[res.field].current?.focus();
  };

  const title = tab === "signin" ? "Sign in" : "Create your account";
  return (
    <main className="flex min-h-full items-center justify-center bg-slate-50 px-4 py-10 dark:bg-slate-950">
      <div className="w-full max-w-sm">
        <div className="mb-6 text-center">
          <div className="mx-auto mb-3 flex h-12 w-12 items-center justify-center rounded-2xl bg-indigo-600 text-lg font-bold text-white" aria-hidden="true">
            {"</>"}
          </div>
          <p className="text-2xl font-bold">CS Tutor</p>
          <p className="mt-1 text-sm text-slate-600 dark:text-slate-400">Your AI teaching assistant for computer science.</p>
        </div>
        <div className="rounded-2xl border border-slate-200 bg-white p-6 shadow-sm dark:border-slate-800 dark:bg-slate-900">
          <div className="mb-5 grid grid-cols-2 rounded-lg bg-slate-100 p-1 dark:bg-slate-800" role="group" aria-label="Account">
            {(["signin", "register"] as const).map((t) => (
              <button
                key={t}
                type="button"
                aria-pressed={tab === t}
                onClick={() => switchTab(t)}
                className="rounded-md py-1.5 text-sm font-medium text-slate-600 aria-pressed:bg-white aria-pressed:text-slate-900 aria-pressed:shadow-sm dark:text-slate-300 dark:aria-pressed:bg-slate-950 dark:aria-pressed:text-white"
              >
                {t === "signin" ? "Sign in" : "Create account"}
              </button>
            ))}
          </div>
          <h1 className="mb-4 text-lg font-semibold">{title}</h1>
          <form onSubmit={onSubmit} noValidate className="space-y-4" aria-describedby={errors.form ? `${uid}-form-error` : undefined}>
            <Field
              id={`${uid}-username`}
              label="Username"
              type="text"
              value={username}
              onChange={setUsername}
              autoComplete="username"
              error={errors.username}
              hint={tab === "register" ? "3–32 letters, digits, '_', '.' or '-'." : undefined}
              inputRef={refs.username}
              required
            />
            {tab === "register" ? (
              <Field
                id={`${uid}-email`}
                label="Email (optional)"
                type="email"
                value={email}
                onChange={setEmail}
                autoComplete="email"
                error={errors.email}
                inputRef={refs.email}
              />
            ) : null}
            <Field
              id={`${uid}-password`}
              label="Password"
              type="password"
              value={password}
              onChange={setPassword}
              autoComplete={tab === "signin" ? "current-password" : "new-password"}
              error={errors.password}
              hint={tab === "register" ? `At least ${PASSWORD_MIN} characters.` : undefined}
              inputRef={refs.password}
              required
            />
            <p
              ref={formError}
              id={`${uid}-form-error`}
              tabIndex={-1}
              role="alert"
              className={errors.form ? "rounded-lg bg-red-50 px-3 py-2 text-sm text-red-800 dark:bg-red-950/60 dark:text-red-200" : "sr-only"}
            >
              {errors.form ?? ""}
              {errors.form && waiting && retryUntil !== null ? (
                <>
                  {" "}
                  <WaitText prefix="You can try again" until={retryUntil} leftMs={retryUntil - now} />
                </>
              ) : null}
            </p>
            <button
              type="submit"
              disabled={submitting || !connected || waiting}
              className="w-full rounded-lg bg-indigo-600 py-2.5 font-semibold text-white hover:bg-indigo-700 disabled:opacity-60"
            >
              {submitting ? (tab === "signin" ? "Signing in…" : "Creating account…") : tab === "signin" ? "Sign in" : "Create account"}
            </button>
            {!connected ? (
              <p className="text-center text-sm text-amber-700 dark:text-amber-400">Connecting to the server…</p>
            ) : null}
          </form>
        </div>
      </div>
    </main>
  );
}
