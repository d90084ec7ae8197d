// CodeMirror 6 for one exercise: highlighting, indentation (Tab indents;
// Escape then Tab leaves the editor, as CodeMirror documents), history,
// bracket matching, and a theme that follows the page's dark mode.
import { useEffect, useRef, useState } from "react";
import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import { javascript } from "@codemirror/lang-javascript";
import { python } from "@codemirror/lang-python";
import { bracketMatching, defaultHighlightStyle, HighlightStyle, indentOnInput, indentUnit, syntaxHighlighting } from "@codemirror/language";
import { EditorState } from "@codemirror/state";
import { EditorView, drawSelection, highlightActiveLine, keymap, lineNumbers } from "@codemirror/view";
import { tags } from "@lezer/highlight";
import type { ExerciseLanguage } from "@tutor/protocol";

const darkHighlight = HighlightStyle.define(
  [
    { tag: tags.keyword, color: "#c4b5fd" },
    { tag: [tags.string, tags.special(tags.string)], color: "#86efac" },
    { tag: tags.comment, color: "#94a3b8", fontStyle: "italic" },
    { tag: [tags.number, tags.bool, tags.null], color: "#fcd34d" },
    { tag: [tags.function(tags.variableName), tags.definition(tags.variableName)], color: "#7dd3fc" },
    { tag: tags.operator, color: "#f9a8d4" },
  ],
  { themeType: "dark" },
);

const theme = EditorView.theme({
  "&": { fontSize: "0.9rem", backgroundColor: "var(--ex-editor-bg)", color: "var(--ex-editor-fg)" },
  ".cm-content": { fontFamily: "ui-monospace, SFMono-Regular, Menlo, monospace", caretColor: "var(--ex-editor-fg)" },
  ".cm-gutters": { backgroundColor: "var(--ex-editor-gutter)", color: "var(--ex-editor-muted)", border: "none" },
  ".cm-activeLine": { backgroundColor: "var(--ex-editor-active)" },
  "&.cm-focused": { outline: "2px solid #6366f1", outlineOffset: "1px" },
  ".cm-scroller": { maxHeight: "24rem" },
});

const query = typeof matchMedia === "function" ? matchMedia("(prefers-color-scheme: dark)") : null;
function useDarkMode(): boolean {
  const [dark, setDark] = useState(query?.matches ?? false);
  useEffect(() => {
    if (!query) return;
    const on = () => setDark(query.matches);
    query.addEventListener("change", on);
    return () => query.removeEventListener("change", on);
  }, []);
  return dark;
}

export interface EditorProps {
  language: ExerciseLanguage;
  value: string;
  onChange: (code: string) => void;
  label: string;
  /** Changes when the text is replaced from outside (Reset). */
  version: number;
}

export default function Editor({ language, value, onChange, label, version }: EditorProps) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const change = useRef(onChange);
  change.current = onChange;
  const latest = useRef(value);
  latest.current = value;
  const dark = useDarkMode();

  useEffect(() => {
    const v = new EditorView({
      parent: host.current!,
      state: EditorState.create({
        doc: latest.current,
        extensions: [
          lineNumbers(),
          history(),
          drawSelection(),
          highlightActiveLine(),
          indentOnInput(),
          bracketMatching(),
          indentUnit.of(language === "python" ? "    " : "  "),
          EditorState.tabSize.of(4),
          dark ? [EditorView.darkTheme.of(true), syntaxHighlighting(darkHighlight)] : syntaxHighlighting(defaultHighlightStyle),
          keymap.of([...defaultKeymap, ...historyKeymap, indentWithTab]),
          language === "python" ? python() : javascript(),
          theme,
          EditorView.contentAttributes.of({ "aria-label": label }),
          EditorView.updateListener.of((u) => {
            if (u.docChanged) change.current(u.state.doc.toString());
          }),
        ],
      }),
    });
    view.current = v;
    return () => v.destroy();
    // Made again only on Reset (version) or a colour-scheme change; edits flow out through onChange.
  }, [language, version, dark]);

  return <div ref={host} className="exercise-editor overflow-hidden rounded-md border border-slate-300 dark:border-slate-600" />;
}
