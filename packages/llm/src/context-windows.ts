// Context windows (prompt + answer, in tokens) of well-known hosted models, as
// their providers publish them. An OpenAI-compatible server does not say its
// window, and without this table every model got the core's cautious 8192, so a
// Groq turn (131,072) was trimmed to a sixteenth of what it can take.
// LLM_CONTEXT_TOKENS always wins. Local servers (Ollama, llama.cpp, vLLM) are
// deliberately absent: their window is whatever the server was started with
// (Ollama's num_ctx, llama-server's -c), not the model's trained length.
const K128 = 128_000;
const K131 = 131_072;

const WINDOWS: ReadonlyMap<string, number> = new Map([
  // Groq (console.groq.com/docs/models); the README's defaults are the first two.
  ["llama-3.3-70b-versatile", K131],
  ["llama-3.1-8b-instant", K131],
  ["openai/gpt-oss-120b", K131],
  ["openai/gpt-oss-20b", K131],
  ["meta-llama/llama-4-scout-17b-16e-instruct", K131],
  ["meta-llama/llama-4-maverick-17b-128e-instruct", K131],
  ["qwen/qwen3-32b", K131],
  ["deepseek-r1-distill-llama-70b", K131],
  ["moonshotai/kimi-k2-instruct", K131],
  ["gemma2-9b-it", 8192],
  ["llama3-70b-8192", 8192],
  ["llama3-8b-8192", 8192],
  ["mixtral-8x7b-32768", 32_768],
  // OpenAI
  ["gpt-4o", K128],
  ["gpt-4o-mini", K128],
  ["gpt-4-turbo", K128],
  ["gpt-4.1", 1_047_576],
  ["gpt-4.1-mini", 1_047_576],
  ["gpt-4.1-nano", 1_047_576],
  ["gpt-4", 8192],
  ["gpt-3.5-turbo", 16_385],
  ["o3-mini", 200_000],
  ["o4-mini", 200_000],
]);

/**
 * The published window of a hosted model by its API name (case-insensitive; a
 * dated snapshot such as `gpt-4o-2024-08-06` counts as its family), or
 * undefined when the name is not known.
 */
export function knownContextTokens(model: string): number | undefined {
  const name = model.trim().toLowerCase();
  return WINDOWS.get(name) ?? WINDOWS.get(name.replace(/-\d{4}-\d{2}-\d{2}$/, ""));
}
