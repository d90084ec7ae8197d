import { stripExplainMarks } from "../markdown/explain.js";

/** One line of plain text from an answer's Markdown, for the sidebar. */
export function plainPreview(markdown: string, max = 120): string {
  return stripExplainMarks(markdown)
    .replace(/```[\s\S]*?(```|$)/g, " [code] ")
    .replace(/^[ \t]*\|?[ \t]*:?-{3,}[-:| \t]*$/gm, "")
    .replace(/^[ \t]{0,3}(#{1,6}|>|[-*+]|\d+[.)])[ \t]+/gm, "")
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/\*\*|__|[*`|~]/g, " ")
    .replace(/\s+/g, " ")
    .trim()
    .slice(0, max);
}
