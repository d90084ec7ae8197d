// The open conversation: stored messages, the answer streaming in, the
// composer. Keeps the view pinned to the bottom unless the student scrolled up.
import { startTransition, useCallback, useEffect, useLayoutEffect, useRef, useState, type RefObject } from "react";
import { storedAnswerFlags, type Message } from "@tutor/protocol";
import { selectStream, type State } from "../state/reducer.js";
import { useApp, useAppState, useSpeech } from "../state/context.js";
import { Composer } from "./Composer.js";
import { MessageItem, TutorAvatar, UserBubble } from "./MessageItem.js";
import { CourseBar } from "./CourseBar.js";
import { LostAnswer } from "./LostAnswer.js";
import { ExerciseContext, type SubmitExercise } from "../exercise/ExerciseSlot.js";
import { MODE_LABEL } from "./Sidebar.js";

const EMPTY: Message[] = [];
const FIRST_SLICE = 16;
/** Scrolled this close to the top of the loaded messages: load the older page. */
const LOAD_OLDER_PX = 400;

const EXAMPLES: Record<State["mode"], string[]> = {
  teacher: [
    "Teach me recursion from the beginning",
    "Start a short course on data structures",
    "Help me understand how the internet works",
  ],
  qa: [
    "What is the difference between a stack and a queue?",
    "Why is binary search O(log n)?",
    "How do I reverse a linked list in Python?",
  ],
};

const selectCurrent = (s: State) => s.current;
const selectCurrentId = (s: State) => s.currentId;
const selectLoading = (s: State) => s.loadingCurrent;
const selectFlags = (s: State) => s.flags;
const selectPending = (s: State) => s.pending;
const selectReady = (s: State) => s.ready;
const selectMode = (s: State) => s.mode;
const selectMissing = (s: State) => s.missingId;
const selectFocus = (s: State) => s.focusMessageId;
const selectAwaiting = (s: State) => (s.currentId ? s.awaitingStored[s.currentId] === true : false);
const selectUnanswered = (s: State) => (s.currentId ? s.unanswered[s.currentId] : undefined);

export function ChatPane({ composerRef }: { composerRef: RefObject<HTMLTextAreaElement | null> }) {
  const app = useApp();
  const current = useAppState(selectCurrent);
  const currentId = useAppState(selectCurrentId);
  const loading = useAppState(selectLoading);
  const flags = useAppState(selectFlags);
  const pending = useAppState(selectPending);
  const ready = useAppState(selectReady);
  const mode = useAppState(selectMode);
  const stream = useAppState(selectStream);
  const awaiting = useAppState(selectAwaiting);
  const unanswered = useAppState(selectUnanswered);
  const missingId = useAppState(selectMissing);
  const focusMessageId = useAppState(selectFocus);
  const speech = useSpeech();

  const scroller = useRef<HTMLDivElement>(null);
  const pinned = useRef(true);
  const [showJump, setShowJump] = useState(false);
  const [announce, setAnnounce] = useState("");

  const submitExercise = useCallback<SubmitExercise>(
    (messageId, exercise, code, results) =>
      currentId
        ? app.turns.submitExercise({ conversationId: currentId, messageId, exerciseIndex: exercise.index, language: exercise.language, code, results })
        : "Open the conversation first.",
    [app, currentId],
  );
  const onChapter = useCallback(
    (index: number, title: string) => {
      const err = app.ask(`Let's do chapter ${index + 1}: ${title}.`);
      if (err) app.hub.notify("error", err);
    },
    [app],
  );

  const onExplain = useCallback(
    (term: string) => {
      const err = app.explain(term);
      if (err) app.notify("error", err);
    },
    [app],
  );

  const visiblePending = pending && pending.conversationId === currentId ? pending : null;
  const busy = stream !== null || visiblePending !== null;

  const messages = current?.messages ?? EMPTY;

  // A long conversation shows its latest messages at once and renders the
  // older ones in the background, so opening it never blocks the page for long.
  const convKey = current?.id ?? null;
  const [win, setWin] = useState<{ id: string | null; from: number }>({ id: null, from: 0 });
  let from = win.from;
  if (win.id !== convKey) {
    from = Math.max(0, messages.length - FIRST_SLICE);
    setWin({ id: convKey, from });
  }
  useEffect(() => {
    if (from <= 0) return;
    // A transition renders the rest in small time slices and yields to input and painting.
    startTransition(() => setWin((w) => ({ ...w, from: 0 })));
  }, [from]);

  // One flat keyed list: the streaming answer turns into its stored message in place.
  const items = messages
    .slice(from)
    .map((m) => <MessageItem key={m.id} message={m} flags={flags[m.id] ?? (m.type === "ai" ? storedAnswerFlags(m.content) : undefined)} onExplain={onExplain} explainDisabled={!ready} />);
  if (stream) {
    items.push(
      <MessageItem
        key={stream.messageId}
        message={{ id: stream.messageId, type: "ai", content: stream.text, timestamp: "" }}
        flags={undefined}
        onExplain={null}
        explainDisabled
        streaming
        interrupted={stream.interrupted}
      />,
    );
  }
  // Content can also grow after its render (a code block highlighted late, a
  // message laid out when it comes into view): follow that too while pinned.
  const content = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = content.current;
    if (!el || typeof ResizeObserver === "undefined") return;
    const ro = new ResizeObserver(() => {
      if (pinned.current && scroller.current) scroller.current.scrollTop = scroller.current.scrollHeight;
    });
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  // Near the top, where an older page may come in above: the message at the
  // top of the view and how far below the top edge it is. The browser's
  // scroll anchoring keeps it in place, except at scrollTop 0 (the scrollbar
  // dragged to the top, Home), where it does not anchor at all.
  const anchor = useRef<{ id: string; offset: number } | null>(null);
  const rememberAnchor = () => {
    const el = scroller.current;
    if (!el) return;
    const top = el.getBoundingClientRect().top;
    for (const item of el.querySelectorAll<HTMLElement>("[data-message-id]")) {
      const r = item.getBoundingClientRect();
      if (r.bottom > top) {
        anchor.current = { id: item.dataset.messageId ?? "", offset: r.top - top };
        return;
      }
    }
  };

  // Only the student scrolling up unpins the view; content growing below (and the
  // browser's scroll anchoring reacting to it) must not.
  const lastTop = useRef(0);
  const onScroll = () => {
    const el = scroller.current;
    if (!el) return;
    if (el.scrollHeight - el.scrollTop - el.clientHeight < 80) pinned.current = true;
    else if (el.scrollTop < lastTop.current - 1) pinned.current = false;
    lastTop.current = el.scrollTop;
    if (pinned.current) setShowJump(false);
    if (!current?.has_more || pinned.current || el.scrollTop >= LOAD_OLDER_PX * 2) return;
    rememberAnchor();
    // Near the top of what is loaded: fetch the page before it.
    if (el.scrollTop < LOAD_OLDER_PX) void app.loadOlder();
  };

  // An older page came in above: put the message being read back where it was
  // (a no-op when scroll anchoring already did).
  const firstId = messages[0]?.id;
  useLayoutEffect(() => {
    const a = anchor.current;
    const el = scroller.current;
    if (!a || !el || pinned.current) return;
    const item = el.querySelector<HTMLElement>(`[data-message-id="${CSS.escape(a.id)}"]`);
    if (!item) return;
    const shift = item.getBoundingClientRect().top - el.getBoundingClientRect().top - a.offset;
    if (Math.abs(shift) >= 1) el.scrollTop += shift;
    lastTop.current = el.scrollTop;
  }, [firstId]);

  const scrollToEnd = (smooth: boolean) => {
    const el = scroller.current;
    if (!el) return;
    const reduce = window.matchMedia?.("(prefers-reduced-motion: reduce)").matches;
    if (smooth && !reduce) el.scrollTo({ top: el.scrollHeight, behavior: "smooth" });
    else el.scrollTop = el.scrollHeight;
  };
  // While text streams in, follow it once per frame: reading scrollHeight forces a
  // layout, and inside requestAnimationFrame that is the layout the frame needs anyway.
  const followScheduled = useRef(false);
  const followEnd = () => {
    if (followScheduled.current) return;
    followScheduled.current = true;
    requestAnimationFrame(() => {
      followScheduled.current = false;
      if (pinned.current && scroller.current) scroller.current.scrollTop = scroller.current.scrollHeight;
    });
  };

  // New content: follow it if the student is at the bottom, else offer a jump button.
  const contentKey = `${current?.messages.length ?? 0}:${stream?.text.length ?? 0}:${visiblePending?.requestId ?? ""}`;
  useLayoutEffect(() => {
    if (pinned.current) followEnd();
    else setShowJump(true);
  }, [contentKey]);
  // Older messages added above: stay at the end if there; otherwise the browser's scroll anchoring keeps the view.
  useLayoutEffect(() => {
    if (pinned.current) followEnd();
  }, [win.from]);

  // A different conversation opened: start at its end.
  useLayoutEffect(() => {
    pinned.current = true;
    anchor.current = null;
    setShowJump(false);
    scrollToEnd(false);
  }, [currentId, current?.id]);

  // Opened from a search result: bring that message into view once it is rendered.
  useEffect(() => {
    if (!focusMessageId || current?.id !== currentId) return;
    const el = scroller.current?.querySelector<HTMLElement>(`[data-message-id="${CSS.escape(focusMessageId)}"]`);
    if (!el) {
      // Not rendered yet (older messages come in a transition), or not in this conversation.
      if (win.from === 0 && current) app.store.dispatch({ type: "focus/done" });
      return;
    }
    pinned.current = false;
    el.tabIndex = -1;
    el.classList.add("message-found");
    el.scrollIntoView({ block: "center" });
    el.focus({ preventScroll: true });
    app.store.dispatch({ type: "focus/done" });
  }, [app, focusMessageId, current, currentId, win.from]);

  // Screen readers hear when an answer starts and ends, not every streamed word.
  const streamId = stream?.messageId ?? null;
  const prevStream = useRef<string | null>(null);
  useEffect(() => {
    if (streamId && prevStream.current !== streamId) setAnnounce("The tutor is answering…");
    if (!streamId && prevStream.current) setAnnounce("The tutor's answer is complete.");
    prevStream.current = streamId;
  }, [streamId]);

  if (missingId && !currentId) return <NotFound />;

  const empty = !loading && messages.length === 0 && !visiblePending && !stream;
  const title = current && messages.length > 0 ? current.title : "New conversation";
  const chatMode = current?.teaching_mode ?? mode;

  return (
    <ExerciseContext.Provider value={submitExercise}>
    <section aria-labelledby="chat-title" className="flex h-full min-h-0 flex-col">
      <div className="flex items-center gap-2 border-b border-slate-200 px-4 py-2 dark:border-slate-800">
        <h1 id="chat-title" className="min-w-0 truncate text-base font-semibold">
          {title}
        </h1>
        <span className="shrink-0 rounded-full bg-slate-100 px-2 py-0.5 text-xs text-slate-700 dark:bg-slate-800 dark:text-slate-300">
          {MODE_LABEL[chatMode]}
        </span>
        {current && messages.length > 0 ? (
          <button
            type="button"
            onClick={async () => {
              const r = await app.account.exportConversation(current.id);
              if (!r.ok) app.notify("error", r.error);
            }}
            className="ml-auto shrink-0 rounded-lg border border-slate-300 px-2 py-1 text-xs font-medium hover:bg-slate-100 dark:border-slate-600 dark:hover:bg-slate-800"
          >
            Export as Markdown
          </button>
        ) : null}
      </div>
      {current?.course ? <CourseBar course={current.course} disabled={!ready} onChapter={onChapter} /> : null}
      <div ref={scroller} onScroll={onScroll} className="relative min-h-0 flex-1 overflow-y-auto" tabIndex={-1} id="chat-scroll">
        <div ref={content} className="mx-auto w-full max-w-3xl px-3 py-4 sm:px-6">
          {current?.has_more && messages.length > 0 ? (
            <div className="flex justify-center pb-3">
              <button
                type="button"
                onClick={() => void app.loadOlder()}
                disabled={!ready}
                className="rounded-full border border-slate-300 px-3 py-1 text-xs text-slate-600 hover:bg-slate-100 disabled:opacity-50 dark:border-slate-700 dark:text-slate-300 dark:hover:bg-slate-800"
              >
                Load earlier messages
              </button>
            </div>
          ) : null}
          {loading && messages.length === 0 ? (
            <p role="status" className="py-8 text-center text-sm text-slate-600 dark:text-slate-300">
              Loading conversation…
            </p>
          ) : null}
          {empty ? (
            <div className="py-10 text-center">
              <p className="text-lg font-semibold">What would you like to learn?</p>
              <p className="mt-1 text-sm text-slate-600 dark:text-slate-300">
                {chatMode === "teacher"
                  ? "Teacher mode guides you step by step through a topic."
                  : "Q&A mode answers your computing questions directly."}
              </p>
              <ul className="mt-6 flex flex-col items-center gap-2">
                {EXAMPLES[chatMode].map((ex) => (
                  <li key={ex}>
                    <button
                      type="button"
                      disabled={!ready}
                      onClick={() => {
                        const err = app.ask(ex);
                        if (err) app.notify("error", err);
                      }}
                      className="rounded-full border border-slate-300 px-4 py-1.5 text-sm hover:bg-slate-100 disabled:opacity-50 dark:border-slate-700 dark:hover:bg-slate-800"
                    >
                      {ex}
                    </button>
                  </li>
                ))}
              </ul>
            </div>
          ) : null}
          <ol aria-label="Messages" className="space-y-5">
            {items}
            {visiblePending && visiblePending.kind === "question" && !visiblePending.echoed ? (
              <li className="message message-user message-pending">
                <UserBubble text={visiblePending.label} note="Sending…" />
              </li>
            ) : null}
            {visiblePending && visiblePending.kind === "explain" && !stream ? (
              <li className="text-center text-xs text-slate-600 dark:text-slate-300">
                Asking the tutor to explain “{visiblePending.label}”…
              </li>
            ) : null}
            {stream ? null : visiblePending ? (
              <li className="flex gap-3" aria-label="The tutor is thinking">
                <TutorAvatar />
                <span className="flex items-center gap-1 py-2" aria-hidden="true">
                  <span className="h-2 w-2 animate-pulse rounded-full bg-slate-400" />
                  <span className="h-2 w-2 animate-pulse rounded-full bg-slate-400 [animation-delay:150ms]" />
                  <span className="h-2 w-2 animate-pulse rounded-full bg-slate-400 [animation-delay:300ms]" />
                </span>
              </li>
            ) : unanswered && messages.at(-1)?.type === "user" ? (
              <LostAnswer question={messages.at(-1)!.content} why={unanswered} ready={ready} />
            ) : awaiting ? (
              <li className="flex gap-3" role="status">
                <TutorAvatar />
                <span className="py-1 text-sm text-slate-600 dark:text-slate-300">
                  Waiting for the tutor's answer… it will appear here when it is ready.
                </span>
              </li>
            ) : null}
          </ol>
        </div>
        {showJump ? (
          <button
            type="button"
            onClick={() => {
              pinned.current = true;
              setShowJump(false);
              scrollToEnd(true);
            }}
            className="sticky bottom-3 left-1/2 mx-auto block -translate-x-0 rounded-full bg-slate-800 px-3 py-1 text-xs text-white shadow-lg dark:bg-slate-200 dark:text-slate-900"
          >
            Jump to latest ↓
          </button>
        ) : null}
      </div>
      <p className="sr-only" role="status" aria-live="polite">
        {announce}
      </p>
      <Composer
        inputRef={composerRef}
        busy={busy}
        speaking={speech.speaking}
        placeholder={current && messages.length > 0 ? "Ask a follow-up question…" : `Ask the tutor (${MODE_LABEL[chatMode]} mode)…`}
      />
    </section>
    </ExerciseContext.Provider>
  );
}

/** The address named a conversation that does not exist or is not the student's. */
function NotFound() {
  const app = useApp();
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), []);
  return (
    <section aria-labelledby="not-found-title" className="flex h-full flex-col items-center justify-center px-6 text-center">
      <h1 id="not-found-title" ref={heading} tabIndex={-1} className="text-xl font-semibold outline-none">
        Conversation not found
      </h1>
      <p className="mt-2 max-w-md text-slate-600 dark:text-slate-300">
        This conversation does not exist, or it belongs to another account. It may have been deleted.
      </p>
      <div className="mt-6 flex flex-wrap justify-center gap-3">
        <button
          type="button"
          onClick={() => void app.newConversation()}
          className="rounded-lg bg-indigo-600 px-4 py-2 font-medium text-white hover:bg-indigo-700 dark:bg-indigo-500 dark:hover:bg-indigo-400"
        >
          Start a new conversation
        </button>
      </div>
      <p className="mt-4 text-sm text-slate-600 dark:text-slate-300">Or pick one of your conversations from the list.</p>
    </section>
  );
}
