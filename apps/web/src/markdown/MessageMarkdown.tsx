// Renders an answer: Markdown (GFM tables, lists), highlighted code with a
// copy button, and EXPLAIN chips. Streaming re-renders only the last block.
import { createContext, memo, useContext, useMemo, type ReactNode } from "react";
import Markdown, { defaultUrlTransform, type Components } from "react-markdown";
import remarkGfm from "remark-gfm";
import type { Element, Text as HastText } from "hast";
import { splitBlocks } from "./blocks.js";
import { CodeBlock } from "./CodeBlock.js";
import { EXPLAIN_PREFIX, remarkExplain, tidyStreamingTail } from "./explain.js";

type ExplainHandler = ((term: string) => void) | null;
const ExplainContext = createContext<{ onExplain: ExplainHandler; disabled: boolean }>({
  onExplain: null,
  disabled: false,
});

function ExplainChip({ term }: { term: string }) {
  const { onExplain, disabled } = useContext(ExplainContext);
  return (
    <button
      type="button"
      className="explain-chip mx-0.5 inline-flex items-baseline gap-1 rounded-full border border-indigo-300 bg-indigo-50 px-2 py-0 align-baseline text-[0.95em] font-medium text-indigo-800 hover:bg-indigo-100 focus-visible:outline-2 focus-visible:outline-offset-1 focus-visible:outline-indigo-500 disabled:cursor-not-allowed disabled:opacity-60 dark:border-indigo-700 dark:bg-indigo-950 dark:text-indigo-200 dark:hover:bg-indigo-900"
      title={`Explain “${term}”`}
      aria-label={`Explain ${term}`}
      disabled={!onExplain || disabled}
      onClick={() => onExplain?.(term)}
    >
      {term}
      <span aria-hidden="true" className="text-[0.8em] opacity-70">
        ?
      </span>
    </button>
  );
}

function textOf(node: Element | undefined): string {
  if (!node) return "";
  return node.children.map((c) => (c.type === "text" ? (c as HastText).value : c.type === "element" ? textOf(c) : "")).join("");
}

const components: Components = {
  a({ href, children, node: _node, ...rest }) {
    if (href?.startsWith(EXPLAIN_PREFIX)) {
      let term = href.slice(EXPLAIN_PREFIX.length);
      try {
        term = decodeURIComponent(term);
      } catch {
        // keep the raw text
      }
      return <ExplainChip term={term} />;
    }
    return (
      <a href={href} target="_blank" rel="noopener noreferrer" {...rest}>
        {children}
      </a>
    );
  },
  pre({ node }) {
    const code = node?.children.find((c): c is Element => c.type === "element" && c.tagName === "code");
    const cls = code?.properties?.className;
    const classes: string[] = Array.isArray(cls) ? cls.map(String) : typeof cls === "string" ? String(cls).split(" ") : [];
    const lang = classes.find((c) => c.startsWith("language-"))?.slice("language-".length);
    return <CodeBlock code={textOf(code).replace(/\n$/, "")} lang={lang} />;
  },
  table({ children, node: _node, ...rest }) {
    return (
      <div className="my-3 overflow-x-auto" role="region" aria-label="Table" tabIndex={0}>
        <table {...rest}>{children}</table>
      </div>
    );
  },
};

const remarkPlugins = [remarkGfm, remarkExplain];

function urlTransform(url: string): string {
  return url.startsWith(EXPLAIN_PREFIX) ? url : defaultUrlTransform(url);
}

const Block = memo(function Block({ source }: { source: string }) {
  return (
    <Markdown remarkPlugins={remarkPlugins} components={components} urlTransform={urlTransform}>
      {source}
    </Markdown>
  );
});

export interface MessageMarkdownProps {
  text: string;
  /** The text is still growing: hide half-written marks. */
  streaming?: boolean;
  /** Clicking an EXPLAIN chip; chips are inert when absent. */
  onExplain?: ExplainHandler;
  /** Chips shown but not clickable (e.g. while disconnected). */
  explainDisabled?: boolean;
}

export function MessageMarkdown({ text, streaming = false, onExplain = null, explainDisabled = false }: MessageMarkdownProps): ReactNode {
  const blocks = useMemo(() => splitBlocks(streaming ? tidyStreamingTail(text) : text), [text, streaming]);
  const ctx = useMemo(() => ({ onExplain, disabled: explainDisabled }), [onExplain, explainDisabled]);
  return (
    <ExplainContext.Provider value={ctx}>
      <div className="markdown">
        {blocks.map((b, i) => (
          <Block key={i} source={b} />
        ))}
      </div>
    </ExplainContext.Provider>
  );
}
