import { useEffect, useRef, useState, useSyncExternalStore } from "react";
import { highlight, languagesVersion, subscribeLanguages } from "./highlight.js";

async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // Clipboard API refused (permissions, insecure origin): the old way still works.
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    const ok = document.execCommand?.("copy") ?? false;
    area.remove();
    return ok;
  }
}

export function CodeBlock({ code, lang }: { code: string; lang: string | undefined }) {
  useSyncExternalStore(subscribeLanguages, languagesVersion, languagesVersion);
  const html = highlight(code, lang);
  const [copied, setCopied] = useState<"idle" | "copied" | "failed">("idle");
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  useEffect(() => () => {
    if (timer.current) clearTimeout(timer.current);
  }, []);

  const onCopy = async () => {
    const ok = await copyText(code);
    setCopied(ok ? "copied" : "failed");
    if (timer.current) clearTimeout(timer.current);
    timer.current = setTimeout(() => setCopied("idle"), 2000);
  };

  return (
    <div className="code-block group/code relative my-3 overflow-hidden rounded-lg border border-slate-200 bg-slate-50 dark:border-slate-700 dark:bg-slate-900">
      <div className="flex items-center justify-between border-b border-slate-200 px-3 py-1 text-xs text-slate-500 dark:border-slate-700 dark:text-slate-400">
        <span>{lang ?? "code"}</span>
        <button
          type="button"
          onClick={onCopy}
          className="rounded px-2 py-0.5 font-medium text-slate-600 hover:bg-slate-200 focus-visible:outline-2 focus-visible:outline-indigo-500 dark:text-slate-300 dark:hover:bg-slate-700"
          aria-label={copied === "copied" ? "Code copied" : "Copy code"}
        >
          {copied === "copied" ? "Copied" : copied === "failed" ? "Copy failed" : "Copy"}
        </button>
      </div>
      {/* Focusable, so a student on the keyboard can scroll a long line (WCAG 2.1.1). */}
      <pre tabIndex={0} role="region" aria-label={`${lang ?? "code"} code`} className="overflow-x-auto p-3 text-[13px] leading-relaxed">
        {html !== null ? (
          <code className={`hljs language-${lang}`} dangerouslySetInnerHTML={{ __html: html }} />
        ) : (
          <code className="hljs">{code}</code>
        )}
      </pre>
      <span className="sr-only" aria-live="polite">
        {copied === "copied" ? "Copied to clipboard" : ""}
      </span>
    </div>
  );
}
