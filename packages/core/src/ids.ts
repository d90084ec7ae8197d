// Time-ordered, process-monotonic UUIDv7 (RFC 9562). Rows sort by
// (created_at, id) in insertion order even within one millisecond.
import { randomBytes } from "node:crypto";

// Random bytes come from a pool: one syscall per 512 ids, not one per id.
const POOL_IDS = 512;
let pool = Buffer.alloc(0);
let poolAt = 0;
function random10(): Buffer {
  if (poolAt + 10 > pool.length) {
    pool = randomBytes(10 * POOL_IDS);
    poolAt = 0;
  }
  poolAt += 10;
  return pool.subarray(poolAt - 10, poolAt);
}

let lastMs = 0;
let seq = 0; // 12-bit counter in rand_a, reseeded each new millisecond

export function newId(now: number = Date.now()): string {
  let ms = now;
  if (ms <= lastMs) {
    ms = lastMs;
    seq++;
    if (seq > 0xfff) {
      // Counter exhausted in this millisecond: borrow the next one.
      ms = lastMs + 1;
      seq = 0;
    }
  } else {
    seq = random10().readUInt16BE(0) & 0x7ff; // leave headroom for increments
  }
  lastMs = ms;
  const b = Buffer.allocUnsafe(16);
  random10().copy(b, 6);
  b.writeUIntBE(ms, 0, 6);
  b[6] = 0x70 | ((seq >> 8) & 0x0f);
  b[7] = seq & 0xff;
  b[8] = 0x80 | (b[8]! & 0x3f);
  const h = b.toString("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
