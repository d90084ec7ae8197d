// The microphone's AudioWorklet: mixes to mono, resamples to 16 kHz, converts
// to s16le and posts 20 ms frames (with their loudness for the meter) to the
// page. Runs on the audio thread, so the page's work never makes it drop audio.
// Bundled by Vite as its own file (`?worker&url`), so it passes a CSP of
// script-src 'self'.
import { FRAME_SAMPLES, Framer, Resampler, floatToS16, rms } from "./pcm.js";

declare const sampleRate: number;
declare function registerProcessor(name: string, ctor: unknown): void;
declare class AudioWorkletProcessor {
  readonly port: MessagePort;
}

export interface MicFrameMessage {
  pcm: Int16Array;
  rms: number;
}

class MicProcessor extends AudioWorkletProcessor {
  private readonly resampler = new Resampler(sampleRate);
  private readonly framer = new Framer(FRAME_SAMPLES);

  process(inputs: Float32Array[][]): boolean {
    const channels = inputs[0];
    if (!channels || channels.length === 0 || !channels[0]) return true;
    let mono = channels[0];
    if (channels.length > 1) {
      mono = new Float32Array(channels[0].length);
      for (const ch of channels) for (let i = 0; i < mono.length; i++) mono[i]! += ch[i]! / channels.length;
    }
    for (const pcm of this.framer.push(floatToS16(this.resampler.push(mono)))) {
      const msg: MicFrameMessage = { pcm, rms: rms(pcm) };
      this.port.postMessage(msg, [pcm.buffer]);
    }
    return true;
  }
}

registerProcessor("tutor-mic", MicProcessor);
