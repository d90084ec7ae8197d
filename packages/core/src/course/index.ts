// The course markup parser and course state (no I/O); see README.md.
export * from "./markup.js";
export * from "./state.js";
export * from "./submission.js";
