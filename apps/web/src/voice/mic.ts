// Opens the microphone with the browser's echo cancellation, noise
// suppression and gain control on, and runs it through the resampling
// AudioWorklet. Loaded on first use (not in the first page load).
import workletUrl from "./mic-worklet.ts?worker&url";
import type { MicFrameMessage } from "./mic-worklet.js";
import { MicError, type MicHandle, type MicOpener } from "./types.js";

export const MIC_CONSTRAINTS: MediaStreamConstraints = {
  audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true, channelCount: 1 },
};

function micError(err: unknown): MicError {
  const name = err instanceof Error || (typeof err === "object" && err !== null && "name" in err) ? String((err as { name: unknown }).name) : "";
  switch (name) {
    case "NotAllowedError":
    case "SecurityError":
      return new MicError(
        "permission",
        "Microphone access is blocked. Allow the microphone for this site in the browser's site settings, then try again.",
      );
    case "NotFoundError":
    case "OverconstrainedError":
      return new MicError("no_device", "No microphone was found. Connect one (and check it is enabled in the system settings), then try again.");
    case "NotReadableError":
    case "AbortError":
      return new MicError("busy", "The microphone could not be started: another application may be using it.");
    default:
      return new MicError("failed", `The microphone could not be started${err instanceof Error && err.message ? ` (${err.message})` : ""}.`);
  }
}

export const openMicrophone: MicOpener = async ({ onFrame, onEnded }) => {
  if (!globalThis.isSecureContext || !navigator.mediaDevices?.getUserMedia) {
    throw new MicError("insecure", "The microphone needs a secure page: open the tutor over https:// (or on localhost).");
  }
  if (typeof AudioWorkletNode === "undefined") {
    throw new MicError("unsupported", "This browser cannot process microphone audio (no AudioWorklet). Use a current Chrome, Edge, Firefox or Safari.");
  }
  let stream: MediaStream;
  try {
    stream = await navigator.mediaDevices.getUserMedia(MIC_CONSTRAINTS);
  } catch (err) {
    throw micError(err);
  }
  const track = stream.getAudioTracks()[0];
  if (!track) {
    for (const t of stream.getTracks()) t.stop();
    throw new MicError("no_device", "No microphone was found. Connect one, then try again.");
  }
  // The device's own rate: the worklet resamples, which every browser supports (a 16 kHz context fed a 48 kHz source does not work everywhere).
  const context = new AudioContext({ latencyHint: "interactive" });
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    track.onended = null;
    for (const t of stream.getTracks()) t.stop();
    void context.close().catch(() => undefined);
  };
  try {
    await context.audioWorklet.addModule(workletUrl);
    const source = context.createMediaStreamSource(stream);
    const node = new AudioWorkletNode(context, "tutor-mic", { numberOfInputs: 1, numberOfOutputs: 0, channelCount: 1, channelCountMode: "explicit" });
    node.port.onmessage = (ev: MessageEvent<MicFrameMessage>) => {
      if (!stopped) onFrame(ev.data.pcm, ev.data.rms);
    };
    source.connect(node);
    if (context.state === "suspended") await context.resume();
  } catch (err) {
    stop();
    throw new MicError("failed", `The microphone could not be started (${err instanceof Error ? err.message : String(err)}).`);
  }
  track.onended = () => {
    if (stopped) return;
    stop();
    onEnded();
  };
  const handle: MicHandle = { track, stop };
  return handle;
};
