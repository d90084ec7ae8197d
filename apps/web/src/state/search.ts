// Search across the student's conversations as they type: one request per
// pause in typing, answers to older queries dropped.
import { MAX_SEARCH_QUERY_CHARS, type SearchResult } from "@tutor/protocol";
import { RequestError } from "../protocol/transport.js";
import { failureText } from "./errors.js";
import type { AppHub } from "./hub.js";

export interface SearchState {
  query: string;
  results: SearchResult[];
  loading: boolean;
  error: string | null;
}

export const emptySearch: SearchState = { query: "", results: [], loading: false, error: null };

/** A snippet's text split into plain and matched parts (rendered as text, never as HTML). */
export function snippetParts(snippet: string): { text: string; hit: boolean }[] {
  return snippet
    .split(/(<mark>.*?<\/mark>)/)
    .filter(Boolean)
    .map((p) => (p.startsWith("<mark>") && p.endsWith("</mark>") ? { text: p.slice(6, -7), hit: true } : { text: p, hit: false }));
}

export class Search {
  constructor(private readonly hub: AppHub) {}

  async run(query: string): Promise<void> {
    const { hub } = this;
    const q = query.slice(0, MAX_SEARCH_QUERY_CHARS);
    hub.dispatch({ type: "search", search: { ...hub.state().search, query: q, loading: q.trim() !== "", error: null } });
    if (!q.trim()) {
      hub.dispatch({ type: "search", search: emptySearch });
      return;
    }
    if (!hub.state().ready) return;
    try {
      const res = await hub.client.request({ type: "search_conversations", query: q, limit: 20 });
      if (res.type !== "search_results" || hub.state().search.query !== q) return;
      hub.dispatch({ type: "search", search: { query: q, results: res.results, loading: false, error: null } });
    } catch (err) {
      if (hub.state().search.query !== q) return;
      const error =
        err instanceof RequestError && err.code === "invalid_message" ? "Type a word (letters or digits) to search." : failureText(err);
      hub.dispatch({ type: "search", search: { query: q, results: [], loading: false, error } });
    }
  }

  clear(): void {
    this.hub.dispatch({ type: "search", search: emptySearch });
  }
}
