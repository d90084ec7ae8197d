// Builds the model chain and the fast model from configuration.
import { ModelChain, type ChatModel, type Logger } from "@tutor/core";
import { createOpenAIChatModel } from "@tutor/llm";
import type { LocalModelManager } from "@tutor/local-llm";
import type { Config } from "./config.js";

export interface Models {
  /** Tutoring models in order; null when none is configured. */
  chain: ModelChain | null;
  /** For the topic check and titles; null when none is configured. */
  fast: ChatModel | null;
  /** The in-process model (LOCAL_MODEL), last link of the chain; undefined when off. */
  local: LocalModelManager | undefined;
}

export async function createModels(config: Config, logger: Logger): Promise<Models> {
  const llm = config.llm;
  const models: ChatModel[] = [];
  let fast: ChatModel | null = null;
  if (llm.configured) {
    const make = (name: string, temperature?: number) =>
      createOpenAIChatModel({
        baseURL: llm.baseUrl,
        apiKey: llm.apiKey || "none",
        model: name,
        temperature,
        ...(config.contextTokens ? { contextTokens: config.contextTokens } : {}),
      });
    models.push(...llm.models.map((m) => make(m.name, m.temperature)));
    fast = models.find((m) => m.name === llm.fastModel) ?? make(llm.fastModel);
  }
  let local: LocalModelManager | undefined;
  const lm = config.localModel;
  if (lm.kind !== "off") {
    // Loaded only when used: node-llama-cpp's native binding stays out of a process that has no local model.
    const { LocalModelManager } = await import("@tutor/local-llm");
    local = new LocalModelManager({
      source: lm.kind === "path" ? { kind: "path", path: lm.path } : { kind: "auto", dir: lm.dir, endpoint: lm.hubEndpoint },
      contextTokens: config.contextTokens,
      threads: lm.threads,
      sequences: lm.sequences,
      logger,
    });
    models.push(local.model);
    fast ??= local.model;
  }
  if (models.length === 0) return { chain: null, fast: null, local };
  return { chain: new ModelChain(models, { logger: logger.child({ component: "llm" }) }), fast, local };
}
