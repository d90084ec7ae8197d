export {
  TopicGuard,
  TIER2_MAX_TOKENS,
  TIER2_SYSTEM,
  TIER2_TEMPERATURE,
  TIER2_TIMEOUT_MS,
  parseTier2Answer,
  type GuardDecision,
  type TopicGuardOptions,
} from "./topic-guard.js";
export { KeywordModel, DEFAULT_VOCABULARY, type Tier1Decision, type Tier1Result, type Vocabulary } from "./keyword-model.js";
export { TOPIC_REJECTION_TEXT } from "./rejection.js";
export { normalizeText } from "./tokenize.js";
export {
  CLEAR_COMPUTING_FAMILIES,
  LabelledSetError,
  decidedAccuracy,
  decidedShare,
  formatScore,
  parseLabelled,
  score,
  type Judged,
  type LabelledMessage,
  type Score,
} from "./evaluate.js";
