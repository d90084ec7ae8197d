// Splits Markdown into top-level blocks so that, while an answer streams,
// only the last block is parsed and rendered again (earlier ones are memoized).
const FENCE = /^ {0,3}(`{3,}|~{3,})/;

/**
 * Cut points are blank lines followed by an unindented line, outside fenced
 * code. An unindented line after a blank line always starts a new top-level
 * block, so each piece renders as it would inside the whole text.
 */
export function splitBlocks(src: string): string[] {
  const lines = src.split("\n");
  const blocks: string[] = [];
  let start = 0;
  let fence: { ch: string; len: number } | null = null;
  let blankBefore = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (fence) {
      const m = FENCE.exec(line);
      if (m && m[1]![0] === fence.ch && m[1]!.length >= fence.len && line.trim() === m[1]) fence = null;
      continue;
    }
    const blank = line.trim() === "";
    if (!blank && blankBefore && i > start && !/^[ \t]/.test(line)) {
      blocks.push(lines.slice(start, i).join("\n"));
      start = i;
    }
    const m = FENCE.exec(line);
    if (m) fence = { ch: m[1]![0]!, len: m[1]!.length };
    blankBefore = blank;
  }
  blocks.push(lines.slice(start).join("\n"));
  return blocks;
}
