// The question box: Enter sends, Shift+Enter breaks the line, Stop silences
// speech and cancels the answer; refuses over-long text before sending, and
// says why it will not send while a limit's wait runs (Limits.tsx).
import { useId, useLayoutEffect, useState, type FormEvent, type KeyboardEvent, type RefObject } from "react";
import type { State } from "../state/reducer.js";
import { useApp, useAppState } from "../state/context.js";
import { SendIcon, StopIcon } from "./icons.js";
import { HandsFreeToggle, MicButton, VoiceBar, useVoice } from "./MicControls.js";
import { BudgetLine, LimitNotice, useRateLimit } from "./Limits.js";

const selectReady = (s: State) => s.ready;
const selectConnection = (s: State) => s.connection.status;
const selectMax = (s: State) => s.config?.limits.max_text_chars ?? null;

export interface ComposerProps {
  inputRef: RefObject<HTMLTextAreaElement | null>;
  busy: boolean;
  speaking: boolean;
  placeholder: string;
}

export function Composer({ inputRef, busy, speaking, placeholder }: ComposerProps) {
  const app = useApp();
  const ready = useAppState(selectReady);
  const connection = useAppState(selectConnection);
  useAppState(selectMax);
  const max = app.maxChars;
  const [text, setText] = useState("");
  const [error, setError] = useState<string | null>(null);
  const voice = useVoice();
  const limited = useRateLimit();
  const paused = limited?.questions === true;
  const hintId = useId();
  const errorId = useId();

  const tooLong = text.length > max;
  const reason = ready
    ? null
    : connection === "open"
      ? "Restoring your session…"
      : "Not connected to the server. Reconnecting…";

  // Grow with the text up to a limit, then scroll inside.
  useLayoutEffect(() => {
    const el = inputRef.current;
    if (!el) return;
    el.style.height = "auto";
    el.style.height = `${Math.min(el.scrollHeight, Math.round(window.innerHeight * 0.4))}px`;
  }, [text, inputRef]);

  const send = () => {
    if (tooLong) {
      setError(`Your message is ${text.length.toLocaleString("en-US")} characters; the limit is ${max.toLocaleString("en-US")}. Shorten it before sending.`);
      return;
    }
    if (!text.trim() || paused) return;
    const err = app.ask(text);
    if (err) {
      setError(err);
      return;
    }
    setError(null);
    setText("");
    inputRef.current?.focus();
  };

  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    send();
  };

  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    // Enter while composing (IME) confirms the composition, not the message.
    if (e.key === "Enter" && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      send();
    }
  };

  const counterVisible = text.length > max * 0.8;

  return (
    <form onSubmit={onSubmit} className="border-t border-slate-200 bg-white px-3 pt-2 pb-3 sm:px-6 dark:border-slate-800 dark:bg-slate-950">
      <div className="mx-auto max-w-3xl">
        <VoiceBar />
        <LimitNotice />
        {busy || speaking ? (
          <div className="mb-2 flex items-center justify-center gap-3 text-sm">
            {speaking ? (
              <span className="flex items-center gap-2 text-indigo-700 dark:text-indigo-300" role="status">
                <span className="flex h-4 items-end gap-0.5" aria-hidden="true">
                  <span className="speak-bar h-4 w-1 rounded bg-current" />
                  <span className="speak-bar h-4 w-1 rounded bg-current" />
                  <span className="speak-bar h-4 w-1 rounded bg-current" />
                </span>
                Speaking…
              </span>
            ) : null}
            <button
              type="button"
              onClick={() => {
                app.stop();
                inputRef.current?.focus();
              }}
              className="flex items-center gap-1.5 rounded-full border border-slate-300 px-3 py-1 font-medium hover:bg-slate-100 dark:border-slate-600 dark:hover:bg-slate-800"
            >
              <StopIcon /> {busy ? "Stop" : "Stop speaking"}
            </button>
          </div>
        ) : null}
        <div
          className={`flex items-end gap-2 rounded-2xl border bg-white px-3 py-2 shadow-sm focus-within:ring-2 focus-within:ring-indigo-400 dark:bg-slate-900 ${
            tooLong ? "border-red-500" : "border-slate-300 dark:border-slate-700"
          }`}
        >
          <label htmlFor="composer" className="sr-only">
            Your question
          </label>
          <textarea
            id="composer"
            ref={inputRef}
            rows={1}
            value={text}
            disabled={!ready}
            placeholder={reason ? "Waiting for the connection…" : placeholder}
            aria-invalid={tooLong || undefined}
            aria-describedby={`${hintId}${error || tooLong ? ` ${errorId}` : ""}`}
            onChange={(e) => {
              setText(e.target.value);
              if (error) setError(null);
            }}
            onKeyDown={onKeyDown}
            className="max-h-[40vh] min-h-[2.5rem] flex-1 resize-none bg-transparent py-2 leading-6 outline-none placeholder:text-slate-500 disabled:cursor-not-allowed dark:placeholder:text-slate-400"
          />
          <MicButton />
          <button
            type="submit"
            disabled={!ready || !text.trim() || paused}
            aria-label="Send"
            className="mb-0.5 flex h-10 w-10 shrink-0 items-center justify-center rounded-full bg-indigo-600 text-white hover:bg-indigo-700 disabled:bg-slate-300 disabled:text-slate-500 dark:disabled:bg-slate-700 dark:disabled:text-slate-400"
          >
            <SendIcon />
          </button>
        </div>
        <div className="mt-1 flex flex-wrap justify-between gap-x-3 text-xs text-slate-600 dark:text-slate-300">
          <p id={hintId}>
            {reason ? (
              <span className="font-medium text-amber-700 dark:text-amber-400">{reason}</span>
            ) : paused ? (
              <span className="font-medium text-amber-800 dark:text-amber-300">Sending is paused until then; you can type your next question meanwhile.</span>
            ) : (
              <>
                <kbd>Enter</kbd> to send · <kbd>Shift</kbd>+<kbd>Enter</kbd> for a new line
                {voice.unavailable ? null : (
                  <>
                    {" "}
                    · hold the mic or <kbd>Space</kbd> to talk
                  </>
                )}
              </>
            )}
          </p>
          <HandsFreeToggle />
          <BudgetLine />
          {counterVisible ? (
            <p className={tooLong ? "font-medium text-red-700 dark:text-red-400" : ""}>
              {text.length.toLocaleString("en-US")} / {max.toLocaleString("en-US")}
            </p>
          ) : null}
        </div>
        {error || tooLong ? (
          <p id={errorId} role="alert" className="mt-1 text-sm text-red-700 dark:text-red-400">
            {error ??
              `That is ${(text.length - max).toLocaleString("en-US")} character${text.length - max === 1 ? "" : "s"} over the ${max.toLocaleString("en-US")}-character limit.`}
          </p>
        ) : null}
      </div>
    </form>
  );
}
