// A tiny llama-architecture GGUF with random weights, written here in
// TypeScript (no Python `gguf` package to install in CI). It loads in
// llama.cpp / node-llama-cpp like a real model: a byte-level SentencePiece
// vocabulary (<unk>, <s>, </s>, then the 256 bytes as <0xXX>), a ChatML chat
// template, two layers of 64 dimensions. Its text is gibberish, by design
// printable ASCII that never ends on its own: one residual dimension is held
// constant through every layer and the output head turns it into a large
// bonus for printable bytes and a large penalty for everything else
// (control tokens and </s> included), so answers run to max_tokens.
import { writeFile } from "node:fs/promises";
import { seededRandom } from "./random.js";

export interface TinyGgufOptions {
  /** The context the model says it was trained with (`llama.context_length`). */
  trainContextTokens?: number;
  /** Seed of the weights' pseudo-random numbers. */
  seed?: number;
  embedding?: number;
  layers?: number;
  name?: string;
}

export const TINY_CHAT_TEMPLATE =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

const T = { UINT32: 4, INT32: 5, FLOAT32: 6, BOOL: 7, STRING: 8, ARRAY: 9 } as const;
const ALIGN = 32;

type Value =
  | { t: "u32"; v: number }
  | { t: "f32"; v: number }
  | { t: "bool"; v: boolean }
  | { t: "str"; v: string }
  | { t: "strs"; v: string[] }
  | { t: "f32s"; v: number[] }
  | { t: "i32s"; v: number[] };

class Writer {
  private parts: Buffer[] = [];
  length = 0;
  push(b: Buffer): void {
    this.parts.push(b);
    this.length += b.length;
  }
  u32(n: number): void {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(n);
    this.push(b);
  }
  i32(n: number): void {
    const b = Buffer.alloc(4);
    b.writeInt32LE(n);
    this.push(b);
  }
  u64(n: number): void {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(n));
    this.push(b);
  }
  f32(n: number): void {
    const b = Buffer.alloc(4);
    b.writeFloatLE(n);
    this.push(b);
  }
  str(s: string): void {
    const b = Buffer.from(s, "utf8");
    this.u64(b.length);
    this.push(b);
  }
  pad(): void {
    const rest = this.length % ALIGN;
    if (rest) this.push(Buffer.alloc(ALIGN - rest));
  }
  value(v: Value): void {
    switch (v.t) {
      case "u32":
        this.u32(T.UINT32);
        this.u32(v.v);
        return;
      case "f32":
        this.u32(T.FLOAT32);
        this.f32(v.v);
        return;
      case "bool":
        this.u32(T.BOOL);
        this.push(Buffer.from([v.v ? 1 : 0]));
        return;
      case "str":
        this.u32(T.STRING);
        this.str(v.v);
        return;
      case "strs":
        this.u32(T.ARRAY);
        this.u32(T.STRING);
        this.u64(v.v.length);
        for (const s of v.v) this.str(s);
        return;
      case "f32s":
        this.u32(T.ARRAY);
        this.u32(T.FLOAT32);
        this.u64(v.v.length);
        for (const n of v.v) this.f32(n);
        return;
      case "i32s":
        this.u32(T.ARRAY);
        this.u32(T.INT32);
        this.u64(v.v.length);
        for (const n of v.v) this.i32(n);
        return;
    }
  }
  buffer(): Buffer {
    return Buffer.concat(this.parts);
  }
}


/** The GGUF file's bytes. */
export function tinyGguf(options: TinyGgufOptions = {}): Buffer {
  const nEmbd = options.embedding ?? 64;
  const nLayer = options.layers ?? 2;
  const nHead = 4;
  const nFf = nEmbd * 2;
  // Seeded: good enough for weights nobody reads, and the same file every run.
  const rand = seededRandom(options.seed ?? 1);
  const normal = (scale: number) => (rand() * 2 - 1) * scale;

  const tokens = ["<unk>", "<s>", "</s>"];
  const types = [2, 3, 3]; // unknown, control, control
  for (let b = 0; b < 256; b++) {
    tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`);
    types.push(6); // byte
  }
  // SentencePiece writes a space as U+2581; with it in the vocabulary, text
  // survives tokenize -> detokenize unchanged (llama.cpp checks that on load).
  tokens.push("\u2581");
  types.push(1); // normal
  const nVocab = tokens.length;
  const printable = (id: number) => id >= 3 + 0x20 && id <= 3 + 0x7e;

  const kv: [string, Value][] = [
    ["general.architecture", { t: "str", v: "llama" }],
    ["general.name", { t: "str", v: options.name ?? "tiny-random-llama" }],
    ["general.alignment", { t: "u32", v: ALIGN }],
    ["llama.context_length", { t: "u32", v: options.trainContextTokens ?? 4096 }],
    ["llama.embedding_length", { t: "u32", v: nEmbd }],
    ["llama.block_count", { t: "u32", v: nLayer }],
    ["llama.feed_forward_length", { t: "u32", v: nFf }],
    ["llama.attention.head_count", { t: "u32", v: nHead }],
    ["llama.attention.head_count_kv", { t: "u32", v: nHead }],
    ["llama.rope.dimension_count", { t: "u32", v: nEmbd / nHead }],
    ["llama.attention.layer_norm_rms_epsilon", { t: "f32", v: 1e-5 }],
    ["llama.vocab_size", { t: "u32", v: nVocab }],
    ["tokenizer.ggml.model", { t: "str", v: "llama" }],
    ["tokenizer.ggml.tokens", { t: "strs", v: tokens }],
    ["tokenizer.ggml.scores", { t: "f32s", v: tokens.map(() => 0) }],
    ["tokenizer.ggml.token_type", { t: "i32s", v: types }],
    ["tokenizer.ggml.unknown_token_id", { t: "u32", v: 0 }],
    ["tokenizer.ggml.bos_token_id", { t: "u32", v: 1 }],
    ["tokenizer.ggml.eos_token_id", { t: "u32", v: 2 }],
    ["tokenizer.ggml.add_bos_token", { t: "bool", v: true }],
    ["tokenizer.ggml.add_eos_token", { t: "bool", v: false }],
    ["tokenizer.ggml.add_space_prefix", { t: "bool", v: false }],
    ["tokenizer.chat_template", { t: "str", v: TINY_CHAT_TEMPLATE }],
  ];

  // Tensors: [name, ne (fastest first), data]. Row r of a [n_in, n_out] matrix is output r.
  const tensors: [string, number[], Float32Array][] = [];
  const matrix = (nIn: number, nOut: number, scale: number, zeroRow0 = false) => {
    const m = new Float32Array(nIn * nOut);
    for (let i = 0; i < m.length; i++) m[i] = normal(scale);
    // Output 0 of an attention / FFN output projection stays 0, so the
    // residual's dimension 0 keeps the embedding's constant (see the top).
    if (zeroRow0) m.fill(0, 0, nIn);
    return m;
  };
  const ones = (n: number) => new Float32Array(n).fill(1);

  const embd = matrix(nEmbd, nVocab, 0.02);
  for (let t = 0; t < nVocab; t++) embd[t * nEmbd] = 1;
  tensors.push(["token_embd.weight", [nEmbd, nVocab], embd]);
  for (let l = 0; l < nLayer; l++) {
    const p = `blk.${l}.`;
    tensors.push([`${p}attn_norm.weight`, [nEmbd], ones(nEmbd)]);
    tensors.push([`${p}attn_q.weight`, [nEmbd, nEmbd], matrix(nEmbd, nEmbd, 0.2)]);
    tensors.push([`${p}attn_k.weight`, [nEmbd, nEmbd], matrix(nEmbd, nEmbd, 0.2)]);
    tensors.push([`${p}attn_v.weight`, [nEmbd, nEmbd], matrix(nEmbd, nEmbd, 0.2)]);
    tensors.push([`${p}attn_output.weight`, [nEmbd, nEmbd], matrix(nEmbd, nEmbd, 0.02, true)]);
    tensors.push([`${p}ffn_norm.weight`, [nEmbd], ones(nEmbd)]);
    tensors.push([`${p}ffn_gate.weight`, [nEmbd, nFf], matrix(nEmbd, nFf, 0.2)]);
    tensors.push([`${p}ffn_up.weight`, [nEmbd, nFf], matrix(nEmbd, nFf, 0.2)]);
    tensors.push([`${p}ffn_down.weight`, [nFf, nEmbd], matrix(nFf, nEmbd, 0.02, true)]);
  }
  tensors.push(["output_norm.weight", [nEmbd], ones(nEmbd)]);
  const out = matrix(nEmbd, nVocab, 0.3);
  for (let t = 0; t < nVocab; t++) out[t * nEmbd] = printable(t) ? 1 : -30;
  tensors.push(["output.weight", [nEmbd, nVocab], out]);

  const w = new Writer();
  w.push(Buffer.from("GGUF", "latin1"));
  w.u32(3);
  w.u64(tensors.length);
  w.u64(kv.length);
  for (const [key, value] of kv) {
    w.str(key);
    w.value(value);
  }
  let offset = 0;
  const offsets: number[] = [];
  for (const [name, ne, data] of tensors) {
    w.str(name);
    w.u32(ne.length);
    for (const n of ne) w.u64(n);
    w.u32(0); // GGML_TYPE_F32
    w.u64(offset);
    offsets.push(offset);
    offset += Math.ceil((data.length * 4) / ALIGN) * ALIGN;
  }
  w.pad();
  for (const [, , data] of tensors) {
    w.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    w.pad();
  }
  return w.buffer();
}

/** Writes the tiny model to `path`; resolves with its bytes (for hashing, serving). */
export async function writeTinyGguf(path: string, options: TinyGgufOptions = {}): Promise<Buffer> {
  const bytes = tinyGguf(options);
  await writeFile(path, bytes);
  return bytes;
}
