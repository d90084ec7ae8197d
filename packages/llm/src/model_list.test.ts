import { describe, expect, it } from "vitest";
import { parseModelList } from "./model-list.js";

describe("parseModelList (LLM_MODELS)", () => {
  it("reads names in order with optional temperatures", () => {
    expect(parseModelList("llama-3.3-70b-versatile:0.7, llama-3.1-8b-instant")).toEqual([
      { name: "llama-3.3-70b-versatile", temperature: 0.7 },
      { name: "llama-3.1-8b-instant" },
    ]);
  });

  it("keeps an Ollama-style tag as part of the name", () => {
    expect(parseModelList("qwen2.5:7b,llama3:latest:0.2,m:1")).toEqual([
      { name: "qwen2.5:7b" },
      { name: "llama3:latest", temperature: 0.2 },
      { name: "m", temperature: 1 },
    ]);
  });

  it.each([
    ["", /empty/],
    ["a,,b", /entry 2 \(""\) is empty/],
    ["a:3", /entry 1 \("a:3"\) has temperature 3/],
    ["good,bad:", /entry 2 \("bad:"\) has nothing after ':'/],
    [":0.5", /entry 1 \(":0.5"\) has no model name/],
    ["a,b,a:0.1", /entry 3 \("a:0.1"\) names a a second time/],
    ["my model", /entry 1 \("my model"\) has a space/],
  ])("rejects %j naming the entry", (spec, message) => {
    expect(() => parseModelList(spec)).toThrow(message);
  });
});
