export { SentenceChunker, CODE_BLOCK_NOTICE, DEFAULT_MAX_CHUNK_CHARS, type SentenceChunkerOptions } from "./chunker.js";
export * from "./server-speech.js";
export * from "./answer-speech.js";
