export interface ModelSpec {
  name: string;
  temperature?: number;
}

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)$/;

/**
 * Parses `LLM_MODELS`: a comma list of `name[:temperature]`, tried in order.
 * Only a numeric suffix is a temperature, so Ollama-style tags such as
 * `qwen2.5:7b` stay part of the name (`qwen2.5:7b:0.3` sets both).
 * Throws an Error naming the offending entry.
 */
export function parseModelList(spec: string): ModelSpec[] {
  const entries = spec.split(",").map((e) => e.trim());
  if (entries.length === 1 && entries[0] === "") {
    throw new Error("the model list is empty; expected a comma list of name[:temperature]");
  }
  const seen = new Set<string>();
  return entries.map((entry, i) => {
    const where = `model list entry ${i + 1} ("${entry}")`;
    if (entry === "") throw new Error(`${where} is empty; remove the extra comma`);
    const colon = entry.lastIndexOf(":");
    let name = entry;
    let temperature: number | undefined;
    if (colon !== -1) {
      const suffix = entry.slice(colon + 1).trim();
      if (suffix === "") throw new Error(`${where} has nothing after ':'; expected a temperature such as 0.7`);
      if (NUMBER.test(suffix)) {
        temperature = Number(suffix);
        name = entry.slice(0, colon).trim();
        if (temperature < 0 || temperature > 2) {
          throw new Error(`${where} has temperature ${suffix}; expected a number from 0 to 2`);
        }
      }
    }
    if (name === "") throw new Error(`${where} has no model name`);
    if (/\s/.test(name)) throw new Error(`${where} has a space in the model name`);
    if (seen.has(name)) throw new Error(`${where} names ${name} a second time`);
    seen.add(name);
    return temperature === undefined ? { name } : { name, temperature };
  });
}
