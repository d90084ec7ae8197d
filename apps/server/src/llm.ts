// Builds the model chain and the fast model from configuration.
import { ModelChain, type ChatModel, type Logger } from "@tutor/core";
import { createOpenAIChatModel } from "@tutor/llm";
import type { Config } from "./config.js";

export interface Models {
  /** Tutoring models in order; null when none is configured. */
  chain: ModelChain | null;
  /** For the topic check and titles; null when none is configured. */
  fast: ChatModel | null;
}

export function createModels(config: Config, logger: Logger): Models {
  const llm = config.llm;
  if (!llm.configured) return { chain: null, fast: null };
  const make = (name: string, temperature?: number) =>
    createOpenAIChatModel({
      baseURL: llm.baseUrl,
      apiKey: llm.apiKey || "none",
      model: name,
      temperature,
      ...(config.contextTokens ? { contextTokens: config.contextTokens } : {}),
    });
  const models = llm.models.map((m) => make(m.name, m.temperature));
  const fast = models.find((m) => m.name === llm.fastModel) ?? make(llm.fastModel);
  return { chain: new ModelChain(models, { logger: logger.child({ component: "llm" }) }), fast };
}
