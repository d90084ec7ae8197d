// 16-bit PCM in and out: checking a binary frame, and wrapping an utterance
// in a WAV header for the transcription service.

export type FrameCheck = { ok: true; samples: Int16Array } | { ok: false; message: string };

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * A binary frame as samples, or why it is refused. Frames come from the
 * socket at any byte offset, so the samples are copied into an aligned array.
 */
export function decodePcmFrame(bytes: Uint8Array, maxBytes: number, sampleRate: number): FrameCheck {
  const n = bytes.byteLength;
  if (n === 0) return { ok: false, message: "empty audio frame: send 20–100 ms of 16 kHz mono s16le PCM per binary frame" };
  if (n % 2 !== 0) {
    return { ok: false, message: `audio frame of ${n} bytes is not whole 16-bit samples (an even number of bytes is needed)` };
  }
  if (n > maxBytes) {
    const ms = Math.round((n / 2 / sampleRate) * 1000);
    return {
      ok: false,
      message: `audio frame of ${n} bytes (${ms} ms) is too large: send 20–100 ms per frame (at most ${maxBytes} bytes)`,
    };
  }
  const samples = new Int16Array(n / 2);
  if (LITTLE_ENDIAN_HOST) {
    new Uint8Array(samples.buffer).set(bytes);
  } else {
    const view = new DataView(bytes.buffer, bytes.byteOffset, n);
    for (let i = 0; i < samples.length; i++) samples[i] = view.getInt16(i * 2, true);
  }
  return { ok: true, samples };
}

/** A canonical 44-byte-header WAV file (PCM, mono, 16-bit) around `samples`. */
export function encodeWav(samples: Int16Array, sampleRate: number): Uint8Array {
  const dataBytes = samples.length * 2;
  const out = new Uint8Array(44 + dataBytes);
  const v = new DataView(out.buffer);
  const ascii = (offset: number, s: string) => {
    for (let i = 0; i < s.length; i++) out[offset + i] = s.charCodeAt(i);
  };
  ascii(0, "RIFF");
  v.setUint32(4, 36 + dataBytes, true);
  ascii(8, "WAVE");
  ascii(12, "fmt ");
  v.setUint32(16, 16, true); // fmt chunk size
  v.setUint16(20, 1, true); // PCM
  v.setUint16(22, 1, true); // mono
  v.setUint32(24, sampleRate, true);
  v.setUint32(28, sampleRate * 2, true); // byte rate
  v.setUint16(32, 2, true); // block align
  v.setUint16(34, 16, true); // bits per sample
  ascii(36, "data");
  v.setUint32(40, dataBytes, true);
  if (LITTLE_ENDIAN_HOST) {
    out.set(new Uint8Array(samples.buffer, samples.byteOffset, dataBytes), 44);
  } else {
    for (let i = 0; i < samples.length; i++) v.setInt16(44 + i * 2, samples[i]!, true);
  }
  return out;
}

/** Joins sample arrays into one. */
export function concatSamples(parts: readonly Int16Array[], total?: number): Int16Array {
  const n = total ?? parts.reduce((s, p) => s + p.length, 0);
  const out = new Int16Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
