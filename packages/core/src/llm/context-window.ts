// Fitting a turn's prompt into the model's context window. The core has no
// tokenizer, so it estimates, on the safe side: about 3 characters a token
// (English prose is ~4, code ~3) plus a few tokens of chat framing per message.
// A provider that still refuses says so (LlmError "context_length") and the
// student is told plainly; this estimate only makes that rare.
import type { ChatMessage } from "../ports.js";

export const CONTEXT_DEFAULTS = {
  /** When no model reports its window and LLM_CONTEXT_TOKENS is unset. */
  contextTokens: 8192,
  charsPerToken: 3,
  /** Chat-template framing per message (role markers, separators). */
  tokensPerMessage: 4,
  /** The answer never gets less room than this (or the whole max, if smaller): below it, say the question is too long. */
  minAnswerTokens: 256,
} as const;

export function estimateTokens(messages: readonly ChatMessage[]): number {
  let n = 0;
  for (const m of messages) n += Math.ceil(m.content.length / CONTEXT_DEFAULTS.charsPerToken) + CONTEXT_DEFAULTS.tokensPerMessage;
  return n;
}

export interface FittedPrompt {
  messages: ChatMessage[];
  /** The answer's token budget: the requested maximum, or what is left of the window. */
  maxTokens: number;
  /** How many of the oldest history messages were left out to fit. */
  dropped: number;
}

/**
 * System prompt + as much recent history as fits, leaving room for the answer
 * (a quarter of the window, at most `maxTokens`). Drops the oldest messages
 * first; the last message (the question) always stays. Undefined when even
 * the system prompt and the question leave no room for an answer.
 */
export function fitToContext(
  system: ChatMessage,
  history: readonly ChatMessage[],
  contextTokens: number,
  maxTokens: number,
): FittedPrompt | undefined {
  const reserve = Math.min(maxTokens, Math.max(CONTEXT_DEFAULTS.minAnswerTokens, Math.floor(contextTokens / 4)));
  const minAnswer = Math.min(maxTokens, CONTEXT_DEFAULTS.minAnswerTokens);
  const kept = [...history];
  let prompt = estimateTokens([system, ...kept]);
  let dropped = 0;
  while (kept.length > 1 && prompt + reserve > contextTokens) {
    prompt -= estimateTokens([kept.shift()!]);
    dropped++;
  }
  const room = contextTokens - prompt;
  if (room < minAnswer) return undefined;
  return { messages: [system, ...kept], maxTokens: Math.min(maxTokens, room), dropped };
}
