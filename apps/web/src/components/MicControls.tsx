// Voice input controls: the microphone button (hold to talk; Space too when
// the text box does not have focus), the hands-free switch, and the voice bar
// (listening indicator with a level meter, live transcript, errors).
import { useEffect, useId, useSyncExternalStore, type KeyboardEvent, type PointerEvent } from "react";
import type { State } from "../state/reducer.js";
import { useApp, useAppState } from "../state/context.js";
import type { VoiceInput, VoiceSnapshot } from "../voice/voice.js";
import { MicIcon, MicOffIcon, WavesIcon } from "./icons.js";

const selectReady = (s: State) => s.ready;

export function useVoice(): VoiceSnapshot {
  const voice = useApp().voice;
  return useSyncExternalStore(voice.subscribe, voice.getSnapshot, voice.getSnapshot);
}

/** Why the microphone cannot be used right now, or null. */
function blockedReason(snap: VoiceSnapshot, ready: boolean): string | null {
  if (snap.unavailable) return snap.unavailable;
  if (!ready) return "Not connected to the server yet.";
  return null;
}

/** Space held anywhere but in a field or on a control is push-to-talk. */
function isTypingTarget(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable) return true;
  return Boolean(target.closest("input, textarea, select, button, a[href], [role=button], [role=switch], [role=menuitem], [contenteditable]"));
}

export function MicButton({ describedBy }: { describedBy?: string }) {
  const { voice } = useApp();
  const snap = useVoice();
  const ready = useAppState(selectReady);
  const reason = blockedReason(snap, ready);
  const reasonId = useId();
  const on = snap.status === "starting" || snap.status === "listening";
  const handsFree = snap.mode === "hands_free" && snap.status !== "off";

  useEffect(() => {
    if (reason) return;
    const down = (e: globalThis.KeyboardEvent) => {
      if (e.code !== "Space" || e.repeat || e.altKey || e.ctrlKey || e.metaKey || isTypingTarget(e.target)) return;
      e.preventDefault();
      voice.press();
    };
    const up = (e: globalThis.KeyboardEvent) => {
      if (e.code === "Space") voice.release();
    };
    // Switching windows while holding Space never delivers the keyup.
    const blur = () => voice.release();
    window.addEventListener("keydown", down);
    window.addEventListener("keyup", up);
    window.addEventListener("blur", blur);
    return () => {
      window.removeEventListener("keydown", down);
      window.removeEventListener("keyup", up);
      window.removeEventListener("blur", blur);
    };
  }, [voice, reason]);

  const label = handsFree ? "Stop listening" : on ? "Listening: release to send" : "Hold to talk";

  const onPointerDown = (e: PointerEvent<HTMLButtonElement>) => {
    if (e.button !== 0) return;
    e.preventDefault();
    if (reason) {
      voice.explain(reason);
      return;
    }
    if (handsFree) {
      voice.toggleHandsFree();
      return;
    }
    // Keep receiving the pointer's release even if it leaves the button.
    e.currentTarget.setPointerCapture?.(e.pointerId);
    voice.press();
  };
  const onPointerUp = () => {
    if (!handsFree) voice.release();
  };
  const onKeyDown = (e: KeyboardEvent<HTMLButtonElement>) => {
    if ((e.key !== " " && e.key !== "Enter") || e.repeat) return;
    e.preventDefault();
    e.stopPropagation();
    if (reason) voice.explain(reason);
    else if (handsFree) voice.toggleHandsFree();
    else voice.press();
  };
  const onKeyUp = (e: KeyboardEvent<HTMLButtonElement>) => {
    if (e.key !== " " && e.key !== "Enter") return;
    e.preventDefault();
    e.stopPropagation();
    if (!handsFree) voice.release();
  };

  return (
    <>
      <button
        type="button"
        aria-label={label}
        aria-pressed={on}
        aria-disabled={reason ? true : undefined}
        aria-describedby={[reason ? reasonId : "", describedBy ?? ""].join(" ").trim() || undefined}
        title={reason ?? (handsFree ? "Hands-free is on: click to stop listening" : "Hold to talk (or hold Space)")}
        data-mic-status={snap.status}
        onPointerDown={onPointerDown}
        onPointerUp={onPointerUp}
        onPointerCancel={onPointerUp}
        onKeyDown={onKeyDown}
        onKeyUp={onKeyUp}
        onContextMenu={(e) => e.preventDefault()}
        className={`mb-0.5 flex h-10 w-10 shrink-0 touch-none items-center justify-center rounded-full select-none ${
          reason
            ? "cursor-not-allowed text-slate-400 dark:text-slate-500"
            : on
              ? "bg-red-600 text-white shadow-[0_0_0_4px_rgba(220,38,38,0.25)] hover:bg-red-700"
              : "text-slate-600 hover:bg-slate-100 dark:text-slate-300 dark:hover:bg-slate-800"
        }`}
      >
        {reason ? <MicOffIcon /> : <MicIcon />}
      </button>
      <span id={reasonId} className="sr-only">
        {reason ?? ""}
      </span>
    </>
  );
}

export function HandsFreeToggle() {
  const { voice } = useApp();
  const snap = useVoice();
  const ready = useAppState(selectReady);
  const reason = blockedReason(snap, ready);
  const active = snap.mode === "hands_free" && snap.status !== "off";
  if (snap.unavailable) return null;
  return (
    <button
      type="button"
      role="switch"
      aria-checked={active}
      disabled={reason !== null}
      onClick={() => voice.toggleHandsFree()}
      title={active ? "Stop listening" : "Keep the microphone on: each question is sent when you pause"}
      className={`flex items-center gap-1 rounded-full border px-2 py-0.5 font-medium disabled:cursor-not-allowed disabled:opacity-50 ${
        active
          ? "border-red-600 bg-red-50 text-red-700 dark:border-red-500 dark:bg-red-950/40 dark:text-red-300"
          : "border-slate-300 text-slate-600 hover:bg-slate-100 dark:border-slate-600 dark:text-slate-300 dark:hover:bg-slate-800"
      }`}
    >
      <WavesIcon />
      Hands-free
    </button>
  );
}

function LevelMeter({ voice }: { voice: VoiceInput }) {
  const level = useSyncExternalStore(voice.subscribeLevel, voice.getLevel, voice.getLevel);
  // Five bars, the middle ones more sensitive: reads like a voice, not a VU meter.
  const weights = [0.55, 0.8, 1, 0.8, 0.55];
  return (
    <span className="flex h-5 items-center gap-0.5" aria-hidden="true" data-level={level}>
      {weights.map((w, i) => (
        <span
          key={i}
          className="w-1 rounded bg-current transition-[height] duration-75"
          style={{ height: `${Math.max(3, Math.round(20 * Math.min(1, level * w * 1.4)))}px` }}
        />
      ))}
    </span>
  );
}

/** The listening indicator, live transcript and voice errors, shown above the question box. */
export function VoiceBar() {
  const { voice } = useApp();
  const snap = useVoice();
  const { status, transcript, error, mode, engine } = snap;
  if (status === "off" && !transcript && !error) return null;
  const statusText =
    status === "starting"
      ? "Starting the microphone…"
      : status === "finishing"
        ? "Working out what you said…"
        : status === "listening"
          ? mode === "hands_free"
            ? "Listening — ask your question and pause; I'll answer."
            : "Listening — release to send."
          : null;
  return (
    <div className="mb-2 rounded-xl border border-slate-200 bg-slate-50 px-3 py-2 text-sm dark:border-slate-700 dark:bg-slate-900" data-testid="voice-bar">
      {statusText ? (
        <p className="flex items-center gap-2 font-medium text-red-700 dark:text-red-300" role="status">
          {status === "listening" ? (
            engine === "server" ? (
              <LevelMeter voice={voice} />
            ) : (
              <span className="mic-dot h-2.5 w-2.5 rounded-full bg-current" aria-hidden="true" />
            )
          ) : null}
          {statusText}
        </p>
      ) : null}
      {transcript ? (
        <p className="mt-1 text-slate-700 dark:text-slate-200" aria-live="polite" data-testid="voice-transcript" data-final={transcript.final}>
          <span className="text-slate-600 dark:text-slate-300">{transcript.final ? "You said: " : "Hearing: "}</span>
          <span className={transcript.final ? "" : "italic"}>{transcript.text}</span>
        </p>
      ) : null}
      {error ? (
        <p role="alert" className="mt-1 flex items-start justify-between gap-2 text-red-700 dark:text-red-400">
          <span>{error}</span>
          <button type="button" onClick={() => voice.dismissError()} className="shrink-0 rounded px-1 text-xs underline">
            Dismiss
          </button>
        </p>
      ) : null}
    </div>
  );
}
