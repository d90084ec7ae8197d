// argon2id with OWASP's minimum parameters (19 MiB, t=2, p=1). @node-rs/argon2
// runs on libuv's thread pool, never on the event loop.
import { hash, verify } from "@node-rs/argon2";
import type { PasswordHasher } from "@tutor/core";

// The library's default algorithm is argon2id (its const enum cannot be
// imported under verbatimModuleSyntax); hasher.test.ts pins the "$argon2id$" prefix.
export const ARGON2_OPTIONS = { memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export const argon2Hasher: PasswordHasher = {
  hash: (password) => hash(password, ARGON2_OPTIONS),
  verify: async (stored, password) => {
    try {
      return await verify(stored, password);
    } catch {
      return false; // a malformed stored hash never signs anyone in
    }
  },
};
