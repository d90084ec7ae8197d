// Shared by the adapter tests (never imported by the adapters).
import { LlmError } from "@tutor/core";

/** The LlmError `p` rejects with; anything else (or no rejection) fails the test. */
export async function llmFailure(p: Promise<unknown>): Promise<LlmError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof LlmError)) throw new Error(`expected an LlmError, got ${String(err)}`);
  return err;
}
