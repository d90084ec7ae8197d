// How the JavaScript runner cuts a tests block into separately reported assertions.

/** Top-level tests: a new one starts at each unindented line; indented or closing lines continue it. */
export function splitTests(tests: string): { src: string; line: number }[] {
  const out: { src: string; line: number }[] = [];
  tests.split("\n").forEach((text, i) => {
    if (!text.trim() || /^\s*\/\//.test(text)) {
      if (out.length && text.trim()) out.at(-1)!.src += `\n${text}`;
      return;
    }
    const continues = /^\s/.test(text) || /^[)\]}]/.test(text);
    if (continues && out.length) out.at(-1)!.src += `\n${text}`;
    else out.push({ src: text, line: i + 1 });
  });
  return out;
}
