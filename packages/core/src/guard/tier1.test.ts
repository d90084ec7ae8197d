import { describe, expect, it } from "vitest";
import type { ChatMessage } from "../ports.js";
import { TOPIC_REJECTION_TEXT, TopicGuard, normalizeText, type Tier1Decision } from "./index.js";

// [question, expected tier-1 decision, expected reason (exact, or prefix ending in ":")]
type Row = [string, Tier1Decision, string?];

const COMPUTING: Row[] = [
  ["How does binary search work?", "allow", "cs_term:binary search"],
  ["Can you explain a binary search tree?", "allow", "cs_term:binary search tree"],
  ["What is Big O notation?", "allow", "cs_term:big-o notation"],
  ["big o of nested loops", "allow", "cs_term:big o"],
  ["explain linked lists to me", "allow", "cs_term:linked list"],
  ["What's the difference between C++ and C#?", "allow", "cs_term:c++"],
  ["Is .NET only for Windows?", "allow", "cs_term:.net"],
  ["should I learn node.js or deno", "allow", "cs_term:node.js"],
  ["F# vs OCaml for a compiler project", "allow", "cs_term:f#"],
  ["what does == mean compared to ===", "allow", "cs_term:=="],
  ["when do I use && instead of ||", "allow", "cs_term:&&"],
  ["what does -> do in PHP", "allow", "cs_term:->"],
  ["Why are hash tables O(1) on average?", "allow", "cs_term:hash table"],
  ["how do red-black trees stay balanced", "allow", "cs_term:red-black tree"],
  ["red black tree rotations", "allow", "cs_term:red-black tree"],
  ["What is dynamic programming?", "allow", "cs_term:dynamic programming"],
  ["Explain Dijkstra's shortest path algorithm", "allow", "cs_term:"],
  ["difference between TCP and UDP", "allow", "cs_term:tcp"],
  ["how does DNS resolution work", "allow", "cs_term:dns"],
  ["what is a foreign key in SQL", "allow", "cs_term:foreign key"],
  ["How do I prevent SQL injection?", "allow", "cs_term:sql injection"],
  ["what is a race condition", "allow", "cs_term:race condition"],
  ["explain virtual memory and paging", "allow", "cs_term:virtual memory"],
  ["What is gradient descent in machine learning?", "allow", "cs_term:gradient descent"],
  ["how do I undo a git commit", "allow", "cs_term:git commit"],
  ["how to write a Dockerfile for a Flask app", "allow", "cs_term:dockerfile"],
  ["what is two's complement", "allow", "cs_term:two's complement"],
  ["What’s two’s complement?", "allow", "cs_term:two's complement"],
  ["Explain recursion with an example", "allow", "cs_term:recursion"],
  ["Explain the term 'base case' in this context", "allow", "cs_term:base case"],
  ["Why does my program segfault?", "allow", "cs_term:segfault"],
  ["ＪＡＶＡＳＣＲＩＰＴ closures", "allow", "cs_term:javascript closure"],
  ["What are Java beans?", "allow", "cs_term:java bean"],
  ["Solve the number of islands problem", "allow", "cs_term:number of islands"],
  ["is discrete math needed for CS?", "allow", "cs_term:discrete math"],
  ["prove that the master theorem gives n log n", "allow", "cs_term:master theorem"],
  ["what is a stack overflow?", "allow", "cs_term:stack overflow"],
  ["spring boot vs express.js", "allow", "cs_term:spring boot"],
  ["what is a cookie in the browser", "allow", "cs_term:browser"],
];

const CODE: Row[] = [
  ["if (x > 1) { return y; }", "allow", "code:"],
  ["def greet(name):\n    print(name)", "allow", "code:call"],
  ["why does function(a, b) return undefined", "allow", "code:call"],
  ["What does `git stash pop` do?", "allow", "cs_term:git"],
  ["what does `yield` mean", "allow", "code:backticks"],
  ["#include <stdio.h> gives an error", "allow", "cs_term:stdio.h"],
  ["is <b> inside <p> valid?", "allow", "code:html"],
  ["how do I center a div", "allow", "cs_term:div"],
  ["what does rm --force do", "allow", "code:flag"],
  ["x = foo();\n", "allow", "code:call"],
];

const AMBIGUOUS_SETTLED: Row[] = [
  ["how do I install python", "allow", "cs_context:"],
  ["how does python manage memory", "allow", "cs_context:"],
  ["quiz me on java", "allow", "cs_context:java+lesson"],
  ["what is a shell command", "allow", "cs_context:"],
  ["write a python function that reverses a string", "allow", "cs_context:"],
  ["my code has an error", "allow", "cs_context:code+error"],
  ["python snake venom", "reject", "non_cs:snake"],
  ["Where can I buy Java coffee beans?", "reject", "non_cs:"],
  ["chocolate chip cookie recipe", "reject", "non_cs:"],
  ["spring flowers in my garden", "reject", "non_cs:"],
  ["the memory of my childhood home", "reject", "non_cs:childhood"],
  ["the shell of a sea turtle", "reject", "non_cs:turtle"],
  ["what is rust corrosion on iron", "reject", "non_cs:corrosion"],
  ["How do I build a recipe app in React?", "uncertain", "mixed:recipe"],
  ["how does spotify shuffle songs", "uncertain", "mixed:song"],
];

const AMBIGUOUS_OPEN: Row[] = [
  ["tell me about python", "uncertain", "ambiguous:python"],
  // The classifier reads a lone "java" in a question as the language (it was uncertain before the classifier).
  ["what is java", "allow", "classifier:on"],
  ["what is a tree", "uncertain", "ambiguous:tree"],
  ["how much memory do I have", "uncertain", "ambiguous:memory"],
  ["what is shell", "uncertain", "ambiguous:shell"],
  ["what is a cookie", "uncertain", "ambiguous:cookie"],
  ["what is spring", "uncertain", "ambiguous:spring"],
  ["what is a function", "uncertain", "weak_cs:function"],
  ["the program starts at eight", "uncertain", "weak_cs:program"],
  ["yes, the python", "uncertain", "ambiguous:python"],
];

const OFF_TOPIC: Row[] = [
  ["What's a good lasagna recipe?", "reject", "non_cs:"],
  ["how long should I bake bread", "reject", "non_cs:bake"],
  ["Who won the football match last night?", "reject", "non_cs:"],
  ["what was the NBA score yesterday", "reject", "non_cs:"],
  ["Is Taylor Swift dating anyone?", "reject", "non_cs:"],
  ["celebrity gossip today", "reject", "non_cs:celebrity"],
  ["how do I get a girlfriend", "reject", "non_cs:girlfriend"],
  ["What's my horoscope, I'm a Virgo", "reject", "non_cs:horoscope"],
  ["what does my zodiac sign say about me", "reject", "non_cs:zodiac"],
  ["I have a headache and a fever, what medication should I take?", "reject", "non_cs:"],
  ["what dosage of ibuprofen is safe", "reject", "non_cs:dosage"],
  ["Can I sue my landlord?", "reject", "non_cs:"],
  ["I need legal advice about my divorce", "reject", "non_cs:"],
  ["what's the weather tomorrow", "reject", "non_cs:weather"],
  ["what is the capital of France", "reject", "non_cs:capital of"],
  ["recommend a movie for tonight", "reject", "non_cs:movie"],
  ["write me a poem about love", "reject", "non_cs:poem"],
  ["how do I lose weight with a diet", "reject", "non_cs:diet"],
  ["best hotels for a beach vacation", "reject", "non_cs:"],
  ["who will win the election", "reject", "non_cs:election"],
];

const SMALL_TALK: Row[] = [
  ["hi", "allow", "greeting"],
  ["Hello!", "allow", "greeting"],
  ["hey there, how are you?", "allow", "greeting"],
  ["good morning", "allow", "greeting"],
  ["thanks a lot", "allow", "greeting"],
  ["Thank you so much!", "allow", "greeting"],
  ["bye", "allow", "greeting"],
  ["👍", "allow", "no_words"],
  ["??", "allow", "no_words"],
];

const LESSON: Row[] = [
  ["next chapter please", "allow", "lesson_meta"],
  ["can you repeat that?", "allow", "lesson_meta"],
  ["give me an exercise", "allow", "lesson_meta"],
  ["I don't understand", "allow", "lesson_meta"],
  ["I don’t understand the second step", "allow", "lesson_meta"],
  ["continue", "allow", "lesson_meta"],
  ["quiz me", "allow", "lesson_meta"],
  ["ok", "allow", "lesson_meta"],
  ["ok, done", "allow", "lesson_meta"],
  ["no, wait", "allow", "lesson_meta"],
  ["yes, let's start", "allow", "lesson_meta"],
  ["can you give me a hint?", "allow", "lesson_meta"],
  ["please summarize the lesson so far", "allow", "lesson_meta"],
  ["go back to the previous chapter", "allow", "lesson_meta"],
];

// These three were "no_signal" before the off-topic lists covered literature, geography and other sciences.
const NOW_OFF_TOPIC: Row[] = [
  ["who wrote hamlet", "reject", "non_cs:hamlet"],
  ["hello, what is the tallest mountain", "reject", "non_cs:"],
  ["teach me about photosynthesis", "reject", "non_cs:photosynthesis"],
];

const NO_SIGNAL: Row[] = [
  ["why is that faster?", "uncertain", "no_signal"],
  ["who invented the telephone", "uncertain", "no_signal"],
];

const TABLE: Row[] = [
  ...COMPUTING,
  ...CODE,
  ...AMBIGUOUS_SETTLED,
  ...AMBIGUOUS_OPEN,
  ...OFF_TOPIC,
  ...SMALL_TALK,
  ...LESSON,
  ...NOW_OFF_TOPIC,
  ...NO_SIGNAL,
];

describe("topic guard tier 1", () => {
  const guard = new TopicGuard();

  it("has a large, varied table", () => {
    expect(TABLE.length).toBeGreaterThanOrEqual(80);
  });

  it.each(TABLE)("%j -> %s (%s)", (text, decision, reason) => {
    const got = guard.tier1(text);
    expect(got.decision).toBe(decision);
    if (reason?.endsWith(":")) expect(got.reason.startsWith(reason)).toBe(true);
    else if (reason) expect(got.reason).toBe(reason);
  });

  it("lets a computing conversation settle an uncertain follow-up", () => {
    const history: ChatMessage[] = [
      { role: "user", content: "What is quicksort?" },
      { role: "assistant", content: "Quicksort is a divide and conquer sorting algorithm..." },
    ];
    expect(guard.tier1("why is that faster?")).toEqual({ decision: "uncertain", reason: "no_signal" });
    expect(guard.tier1("why is that faster?", history)).toEqual({ decision: "allow", reason: "followup" });
    expect(guard.tier1("and what about python?", history)).toEqual({ decision: "allow", reason: "followup" });
  });

  it("does not let history override a rejection or an unrelated new question", () => {
    const history: ChatMessage[] = [
      { role: "user", content: "explain merge sort" },
      { role: "assistant", content: "Merge sort splits the array in halves..." },
    ];
    expect(guard.tier1("ok now give me a pasta recipe", history).decision).toBe("reject");
    // a subject of its own (not computing, not known off-topic): left to tier 2, not settled by the history
    expect(guard.tier1("who invented the telephone", history)).toEqual({ decision: "uncertain", reason: "no_signal" });
    // a known off-topic subject is rejected whatever came before
    expect(guard.tier1("who wrote hamlet", history)).toEqual({ decision: "reject", reason: "non_cs:hamlet" });
  });

  it("only looks at the last 4 messages, and ignores its own refusals and system prompts", () => {
    const old: ChatMessage[] = [
      { role: "user", content: "what is a linked list" },
      { role: "assistant", content: "A linked list is..." },
      { role: "user", content: "best pizza in town?" },
      { role: "assistant", content: TOPIC_REJECTION_TEXT },
      { role: "user", content: "pizza toppings then" },
      { role: "assistant", content: TOPIC_REJECTION_TEXT },
    ];
    expect(guard.tier1("why is that?", old).decision).toBe("uncertain");
    const withSystem: ChatMessage[] = [{ role: "system", content: "You are a computer science tutor." }, ...old.slice(2)];
    expect(guard.tier1("why is that?", withSystem).decision).toBe("uncertain");
    expect(guard.tier1("why is that?", old.slice(0, 4))).toEqual({ decision: "allow", reason: "followup" });
  });

  it("judges a huge paste by its opening", () => {
    const paste = `const x = {\n  a: 1\n};\n${"lorem ipsum dolor ".repeat(5_000)}`;
    expect(guard.tier1(paste).decision).toBe("allow");
  });
});

describe("normalizeText", () => {
  it("lowercases, applies NFKC, collapses whitespace and strips punctuation but keeps tech symbols", () => {
    expect(normalizeText("  What's   the  DIFFERENCE between\tC++ and C#?!  ")).toBe("what's the difference between c++ and c#");
    expect(normalizeText("Ｎｏｄｅ.ｊｓ vs .NET, F#; e.g. x86-64 (really)")).toBe("node.js vs .net f# e.g x86-64 really");
    expect(normalizeText("if a == b && c -> d")).toBe("if a == b && c -> d");
    expect(normalizeText("Don’t   stop… “quotes”")).toBe("don't stop quotes");
    expect(normalizeText("...and then")).toBe("and then");
  });
});
