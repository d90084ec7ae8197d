// The e2e suite and the benchmark are Node programs; only the callbacks they
// pass to page.evaluate() run in the browser. These are the few page globals
// those callbacks touch, so the Node program needs no DOM library.
declare const window: object;
declare const document: {
  documentElement: { scrollWidth: number };
  querySelector(selector: string): { getBoundingClientRect(): { top: number; bottom: number } } | null;
  activeElement: { getAttribute(name: string): string | null } | null;
  createElement(tag: "canvas"): { getContext(kind: "2d"): { font: string; measureText(text: string): { width: number } } | null };
};
declare function getComputedStyle(el: unknown): { fontWeight: string; fontSize: string; fontFamily: string; paddingLeft: string; paddingRight: string };
declare const localStorage: { getItem(key: string): string | null };
