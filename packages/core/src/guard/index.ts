export { TopicGuard, TIER2_MAX_TOKENS, TIER2_TEMPERATURE, TIER2_TIMEOUT_MS, type GuardDecision, type TopicGuardOptions } from "./topic-guard.js";
export { KeywordModel, DEFAULT_VOCABULARY, type Tier1Decision, type Tier1Result, type Vocabulary } from "./keyword-model.js";
export { TOPIC_REJECTION_TEXT } from "./rejection.js";
export { normalizeText } from "./tokenize.js";
