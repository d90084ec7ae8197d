import { memo, useMemo } from "react";
import { segments, type Segment } from "@tutor/core/course";
import { ExerciseSlot } from "../exercise/ExerciseSlot.js";
import type { Message } from "@tutor/protocol";
import { fullTime } from "../lib/time.js";
import { MessageMarkdown } from "../markdown/MessageMarkdown.js";
import type { AnswerFlags } from "../state/reducer.js";
import { AlertIcon, BanIcon } from "./icons.js";

export function UserBubble({ text, note }: { text: string; note?: string }) {
  return (
    <div className="flex justify-end">
      <div className="max-w-[85%] rounded-2xl rounded-br-md bg-indigo-600 px-4 py-2 whitespace-pre-wrap text-white shadow-sm [overflow-wrap:anywhere] dark:bg-indigo-500">
        <span className="sr-only">You said: </span>
        {text}
        {note ? <span className="mt-1 block text-right text-xs text-indigo-100">{note}</span> : null}
      </div>
    </div>
  );
}

export interface AnswerProps {
  text: string;
  flags?: AnswerFlags | undefined;
  streaming?: boolean;
  interrupted?: boolean;
  onExplain?: ((term: string) => void) | null;
  explainDisabled?: boolean;
  model?: string | undefined;
  timestamp?: string | undefined;
  /** The stored answer's id: its exercises become cards (a streaming answer shows them as code until it ends). */
  messageId?: string | undefined;
}

/** An answer cut into Markdown and exercise cards; a broken exercise block is no exercise and stays code. */
function AnswerWithExercises({
  parts,
  text,
  messageId,
  onExplain,
  explainDisabled,
}: {
  parts: Segment[];
  text: string;
  messageId: string;
  onExplain: ((term: string) => void) | null;
  explainDisabled: boolean;
}) {
  return (
    <>
      {parts.map((p, i) =>
        p.kind === "markdown" ? (
          <MessageMarkdown key={i} text={p.text} onExplain={onExplain} explainDisabled={explainDisabled} />
        ) : (
          <ExerciseSlot key={i} exercise={p.exercise} messageId={messageId} fallback={<MessageMarkdown text={text.slice(p.exercise.start, p.exercise.end)} />} />
        ),
      )}
    </>
  );
}

export function Answer({ text, flags, streaming = false, interrupted = false, onExplain = null, explainDisabled, model, timestamp, messageId }: AnswerProps) {
  const parts = useMemo(() => {
    if (streaming || !messageId) return null;
    const s = segments(text);
    return s.some((p) => p.kind === "exercise") ? s : null;
  }, [text, streaming, messageId]);
  if (flags?.topic_rejected) {
    return (
      <div className="answer answer-refusal flex gap-3 rounded-xl border border-amber-300 bg-amber-50 px-4 py-3 text-amber-950 dark:border-amber-700 dark:bg-amber-950/40 dark:text-amber-100">
        <span className="mt-0.5 text-amber-600 dark:text-amber-400">
          <BanIcon />
        </span>
        <div>
          <p className="text-xs font-semibold tracking-wide text-amber-700 uppercase dark:text-amber-300">Outside computing topics</p>
          <p className="mt-1 whitespace-pre-wrap">{text}</p>
        </div>
      </div>
    );
  }
  if (flags?.error) {
    return (
      <div role="alert" className="answer answer-error flex gap-3 rounded-xl border border-red-300 bg-red-50 px-4 py-3 text-red-950 dark:border-red-800 dark:bg-red-950/40 dark:text-red-100">
        <span className="mt-0.5 text-red-600 dark:text-red-400">
          <AlertIcon />
        </span>
        <div>
          <p className="text-xs font-semibold tracking-wide text-red-700 uppercase dark:text-red-300">The tutor could not answer</p>
          <p className="mt-1 whitespace-pre-wrap">{text}</p>
        </div>
      </div>
    );
  }
  return (
    <div
      className={`answer min-w-0 ${interrupted ? "opacity-60" : ""} ${streaming && !interrupted ? "md-streaming" : ""}`}
      aria-busy={streaming || undefined}
    >
      {/* The same element while streaming and after, unless exercises appear: finishing an answer rebuilds nothing. */}
      {parts && messageId ? (
        <AnswerWithExercises parts={parts} text={text} messageId={messageId} onExplain={onExplain} explainDisabled={explainDisabled ?? false} />
      ) : (
        <MessageMarkdown text={text} streaming={streaming} onExplain={onExplain} explainDisabled={explainDisabled ?? false} />
      )}
      {flags?.cancelled ? <p className="mt-1 text-xs text-slate-500 italic dark:text-slate-400">Stopped</p> : null}
      {model || timestamp ? (
        <p className="mt-1 text-xs text-slate-600 dark:text-slate-400">
          {timestamp ? <time dateTime={timestamp}>{fullTime(timestamp)}</time> : null}
          {model && timestamp ? " · " : null}
          {model}
        </p>
      ) : null}
    </div>
  );
}

export interface MessageItemProps {
  message: Message;
  flags: AnswerFlags | undefined;
  onExplain: ((term: string) => void) | null;
  explainDisabled: boolean;
  /** The answer is still arriving (`message.content` is the text so far). */
  streaming?: boolean;
  /** The connection dropped while it was arriving. */
  interrupted?: boolean;
}

/**
 * One message; memoized so a long conversation does not re-render while an
 * answer streams. A streaming answer uses the same component (and key) as the
 * stored one that replaces it, so its rendered blocks are kept, not redone.
 */
export const MessageItem = memo(function MessageItem({ message, flags, onExplain, explainDisabled, streaming = false, interrupted = false }: MessageItemProps) {
  if (message.type === "user") {
    return (
      <li className="message message-user" data-message-id={message.id}>
        <UserBubble text={message.content} />
      </li>
    );
  }
  return (
    <li className={`message message-ai flex gap-3 ${streaming ? "message-streaming" : ""}`} data-message-id={message.id}>
      <TutorAvatar />
      <span className="sr-only">Tutor said: </span>
      <div className="min-w-0 flex-1">
        <Answer
          text={message.content}
          flags={flags}
          streaming={streaming}
          interrupted={interrupted}
          onExplain={streaming ? null : onExplain}
          explainDisabled={explainDisabled}
          model={streaming ? undefined : message.model}
          messageId={message.id}
          timestamp={streaming ? undefined : message.timestamp}
        />
        {interrupted ? (
          <p className="mt-2 text-xs text-amber-700 dark:text-amber-400" role="status">
            The connection dropped during this answer. The complete answer will appear here once it is saved.
          </p>
        ) : null}
      </div>
    </li>
  );
});

export function TutorAvatar() {
  return (
    <span
      aria-hidden="true"
      className="mt-0.5 flex h-7 w-7 shrink-0 items-center justify-center rounded-full bg-gradient-to-br from-indigo-500 to-violet-600 text-xs font-bold text-white"
    >
      T
    </span>
  );
}
