// Speech out: on/off, voice, rate and (server voice) volume. Disabled, with
// the reason shown, when the browser has no speechSynthesis or no voices —
// unless the server speaks, which needs neither.
import { useEffect, useId, useRef, useState } from "react";
import { RATE_MAX, RATE_MIN } from "../speech/speech.js";
import { useApp, useAppState, useSpeech } from "../state/context.js";
import { SlidersIcon, SpeakerOffIcon, SpeakerOnIcon } from "./icons.js";

export function SpeechControls() {
  const { speech } = useApp();
  const snap = useSpeech();
  const serverVoiceName = useAppState((s) => s.config?.tts.voice ?? null);
  // The browser's missing voices do not matter when the server speaks.
  const unavailable = snap.serverVoice ? null : snap.unavailable;
  const [open, setOpen] = useState(false);
  const panelId = useId();
  const reasonId = useId();
  // The sliders' labels also hold an <output>, which a label would otherwise name instead of the slider.
  const rateId = useId();
  const volumeId = useId();
  const wrapper = useRef<HTMLDivElement>(null);
  const settingsBtn = useRef<HTMLButtonElement>(null);
  const on = snap.settings.enabled && !unavailable;

  useEffect(() => {
    if (!open) return;
    const onDown = (e: MouseEvent) => {
      if (wrapper.current && !wrapper.current.contains(e.target as Node)) setOpen(false);
    };
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape") {
        setOpen(false);
        settingsBtn.current?.focus();
      }
    };
    document.addEventListener("mousedown", onDown);
    document.addEventListener("keydown", onKey);
    return () => {
      document.removeEventListener("mousedown", onDown);
      document.removeEventListener("keydown", onKey);
    };
  }, [open]);

  return (
    <div ref={wrapper} className="relative flex items-center">
      <button
        type="button"
        aria-pressed={on}
        disabled={unavailable !== null}
        aria-describedby={unavailable ? reasonId : undefined}
        title={unavailable ?? (on ? "Speaking answers: on" : "Speaking answers: off")}
        onClick={() => speech.setEnabled(!snap.settings.enabled)}
        className="flex h-9 w-9 items-center justify-center rounded-lg text-slate-600 hover:bg-slate-100 disabled:cursor-not-allowed disabled:opacity-40 aria-pressed:text-indigo-700 dark:text-slate-300 dark:hover:bg-slate-800 dark:aria-pressed:text-indigo-300"
      >
        {on ? <SpeakerOnIcon /> : <SpeakerOffIcon />}
        <span className="sr-only">Speak answers</span>
      </button>
      <span id={reasonId} className="sr-only">
        {unavailable ?? ""}
      </span>
      {unavailable ? (
        <span aria-hidden="true" className="mr-1 hidden text-xs text-slate-500 lg:inline dark:text-slate-400">
          Speech unavailable
        </span>
      ) : null}
      <button
        ref={settingsBtn}
        type="button"
        aria-expanded={open}
        aria-controls={panelId}
        onClick={() => setOpen((o) => !o)}
        title="Voice settings"
        className="flex h-9 w-9 items-center justify-center rounded-lg text-slate-600 hover:bg-slate-100 dark:text-slate-300 dark:hover:bg-slate-800"
      >
        <SlidersIcon />
        <span className="sr-only">Voice settings</span>
      </button>
      {open ? (
        <div
          id={panelId}
          role="group"
          aria-label="Voice settings"
          className="absolute top-11 right-0 z-40 w-72 max-w-[calc(100vw-1.5rem)] rounded-xl border border-slate-200 bg-white p-4 text-sm shadow-xl dark:border-slate-700 dark:bg-slate-900"
        >
          {unavailable ? (
            <p className="rounded-lg bg-amber-50 p-2 text-amber-900 dark:bg-amber-950/50 dark:text-amber-200">
              Speech is off: {unavailable} Answers are still shown as text.
            </p>
          ) : (
            <>
              <label className="flex items-center justify-between gap-3">
                <span className="font-medium">Speak answers aloud</span>
                <input
                  type="checkbox"
                  checked={snap.settings.enabled}
                  onChange={(e) => speech.setEnabled(e.target.checked)}
                  className="h-4 w-4 accent-indigo-600"
                />
              </label>
              {snap.serverVoice ? (
                // The server chooses the voice: the browser's voices would not be heard.
                <p className="mt-3 flex justify-between gap-3">
                  <span className="font-medium">Voice</span>
                  <span className="truncate text-slate-600 dark:text-slate-300">{serverVoiceName ? `${serverVoiceName} (server)` : "The server's voice"}</span>
                </p>
              ) : (
                <label className="mt-3 block">
                  <span className="font-medium">Voice</span>
                  <select
                    value={snap.settings.voiceUri ?? ""}
                    onChange={(e) => speech.setVoice(e.target.value || null)}
                    className="mt-1 block w-full rounded-md border border-slate-300 bg-white px-2 py-1.5 dark:border-slate-600 dark:bg-slate-800"
                  >
                    <option value="">Automatic</option>
                    {snap.voices.map((v) => (
                      <option key={v.uri} value={v.uri}>
                        {v.name} ({v.lang})
                      </option>
                    ))}
                  </select>
                </label>
              )}
              <label htmlFor={rateId} className="mt-3 block">
                <span className="flex justify-between font-medium">
                  <span>Rate</span>
                  <output>{snap.settings.rate.toFixed(1)}×</output>
                </span>
                <input
                  id={rateId}
                  type="range"
                  min={RATE_MIN}
                  max={RATE_MAX}
                  step={0.1}
                  value={snap.settings.rate}
                  onChange={(e) => speech.setRate(Number(e.target.value))}
                  className="mt-1 w-full accent-indigo-600"
                />
              </label>
              {snap.serverVoice ? (
                <label htmlFor={volumeId} className="mt-3 block">
                  <span className="flex justify-between font-medium">
                    <span>Volume</span>
                    <output>{Math.round(snap.settings.volume * 100)}%</output>
                  </span>
                  <input
                    id={volumeId}
                    type="range"
                    min={0}
                    max={1}
                    step={0.05}
                    value={snap.settings.volume}
                    onChange={(e) => speech.setVolume(Number(e.target.value))}
                    className="mt-1 w-full accent-indigo-600"
                  />
                </label>
              ) : null}
              {snap.loading && !snap.serverVoice ? <p className="mt-2 text-xs text-slate-600 dark:text-slate-300">Loading voices…</p> : null}
            </>
          )}
        </div>
      ) : null}
    </div>
  );
}
