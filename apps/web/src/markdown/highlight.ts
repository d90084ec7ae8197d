// highlight.js core with the languages students meet most, loaded eagerly;
// every other language comes with the lazily loaded "common" set.
import hljs from "highlight.js/lib/core";
import bash from "highlight.js/lib/languages/bash";
import c from "highlight.js/lib/languages/c";
import cpp from "highlight.js/lib/languages/cpp";
import java from "highlight.js/lib/languages/java";
import javascript from "highlight.js/lib/languages/javascript";
import json from "highlight.js/lib/languages/json";
import python from "highlight.js/lib/languages/python";
import sql from "highlight.js/lib/languages/sql";
import typescript from "highlight.js/lib/languages/typescript";

hljs.registerLanguage("bash", bash);
hljs.registerLanguage("c", c);
hljs.registerLanguage("cpp", cpp);
hljs.registerLanguage("java", java);
hljs.registerLanguage("javascript", javascript);
hljs.registerLanguage("json", json);
hljs.registerLanguage("python", python);
hljs.registerLanguage("sql", sql);
hljs.registerLanguage("typescript", typescript);

let moreLoaded: Promise<void> | null = null;
let version = 0;
const listeners = new Set<() => void>();

/** Load the remaining common languages once; code blocks re-render when done. */
export function loadMoreLanguages(): Promise<void> {
  moreLoaded ??= import("highlight.js/lib/common").then(
    () => {
      version += 1;
      for (const l of listeners) l();
    },
    () => {
      moreLoaded = null;
    },
  );
  return moreLoaded;
}

export function subscribeLanguages(fn: () => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export function languagesVersion(): number {
  return version;
}

/** Highlighted HTML (escaped by highlight.js), or null when the language is unknown (yet). */
export function highlight(code: string, lang: string | undefined): string | null {
  if (!lang) return null;
  if (!hljs.getLanguage(lang)) {
    void loadMoreLanguages();
    return null;
  }
  try {
    return hljs.highlight(code, { language: lang, ignoreIllegals: true }).value;
  } catch {
    return null;
  }
}
