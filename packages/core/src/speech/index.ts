export { SentenceChunker, CODE_BLOCK_NOTICE, DEFAULT_MAX_CHUNK_CHARS, type SentenceChunkerOptions } from "./chunker.js";
