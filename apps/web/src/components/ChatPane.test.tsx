// The chat pane on the real store and controller, with the server played by
// an in-memory socket.
import { act, render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { createRef } from "react";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FIXED_ANSWERS, type Conversation, type Message } from "@tutor/protocol";
import type { AppController } from "../state/controller.js";
import { AppProvider } from "../state/context.js";
import { TEST_USER, answerVerify, signedInStorage, testController, testConversation } from "../test-fixtures.js";
import { FakeSocket } from "../test-socket.js";
import { ChatPane } from "./ChatPane.js";

function conversation(count: number): Conversation {
  const messages: Message[] = Array.from({ length: count }, (_, i) => ({
    id: `m${i}`,
    type: i % 2 === 0 ? "user" : "ai",
    content: i % 2 === 0 ? `Question ${i}` : `Answer ${i} about **stacks**.`,
    timestamp: new Date(Date.parse("2026-11-24T10:00:00.000Z") + i * 1000).toISOString(),
  }));
  return testConversation({ id: "c1", title: "Stacks", created_at: messages[0]?.timestamp ?? "2026-11-24T10:00:00.000Z", last_message: null, messages });
}

let app: AppController;
let sock: FakeSocket;

beforeEach(async () => {
  signedInStorage(null);
  // No speechSynthesis in jsdom: the app must work without it. An answer awaited
  // from storage: a few quick looks, not two minutes of them.
  app = testController({ fastReconnect: true, pollMs: 10, pollTries: 3 });
  app.start();
  sock = await answerVerify(app);
});

afterEach(() => app.shutdown());

async function open(c: Conversation) {
  const opening = app.openConversation(c.id);
  sock.push({ type: "conversation_data", conversation: c, request_id: sock.lastOf("get_conversation").request_id! });
  await opening;
}

function renderPane() {
  return render(
    <AppProvider controller={app}>
      <ChatPane composerRef={createRef<HTMLTextAreaElement>()} />
    </AppProvider>,
  );
}

describe("chat pane", () => {
  it("shows every message of a long conversation, the newest at once", async () => {
    renderPane();
    await act(() => open(conversation(200)));
    const list = screen.getByRole("list", { name: "Messages" });
    // The newest message is there from the first render…
    expect(within(list).getByText(/Answer 199 about/)).toBeInTheDocument();
    // …and the oldest arrive without blocking.
    await waitFor(() => expect(list.querySelectorAll("li.message")).toHaveLength(200));
    expect(list.querySelector("li.message")?.textContent).toContain("Question 0");
  });

  it("turns the streaming answer into the stored one without rebuilding what was shown", async () => {
    renderPane();
    await act(() => open(conversation(2)));
    act(() => {
      sock.push({ type: "ai_response_delta", conversation_id: "c1", message_id: "a9", delta: "## Stacks\n\nA stack is " });
    });
    const heading = await screen.findByRole("heading", { level: 2, name: "Stacks" });
    expect(heading.closest("li")).toHaveClass("message-streaming");
    act(() => {
      sock.push({ type: "ai_response_delta", conversation_id: "c1", message_id: "a9", delta: "last in, first out." });
    });
    await screen.findByText("A stack is last in, first out.");
    act(() => {
      sock.push({ type: "ai_response", conversation_id: "c1", message_id: "a9", text: "## Stacks\n\nA stack is last in, first out.", model: "m" });
    });
    await waitFor(() => expect(heading.closest("li")).not.toHaveClass("message-streaming"));
    expect(screen.getByRole("heading", { level: 2, name: "Stacks" })).toBe(heading);
  });

  it("shows a stored refusal and a stored failure distinctly after a reload", async () => {
    const c = conversation(4);
    c.messages[1]!.content = FIXED_ANSWERS.topicRejection;
    c.messages[3]!.content = "Merge sort splits the list" + FIXED_ANSWERS.interruptedNote;
    renderPane();
    await act(() => open(c));
    expect(await screen.findByText("Outside computing topics")).toBeInTheDocument();
    const list = screen.getByRole("list", { name: "Messages" });
    expect(list.querySelector(".answer-refusal")).not.toBeNull();
    expect(list.querySelector(".answer-error")?.textContent).toContain("Merge sort splits the list");
  });

  it("after a reconnect, says so when the question being answered got no answer (its server stopped), and asks it again", async () => {
    const user = userEvent.setup();
    renderPane();
    const asked = conversation(3);
    await act(() => open(asked));
    act(() => sock.push({ type: "ai_response_delta", conversation_id: "c1", message_id: "a9", delta: "Half an answer " }));
    await screen.findByText("Half an answer");
    act(() => sock.drop());
    await waitFor(() => expect(FakeSocket.all).toHaveLength(2));
    const next = FakeSocket.last;
    act(() => next.open());
    const verify = next.lastOf("auth_request");
    act(() => next.push({ type: "auth_response", action: "verify", success: true, user: TEST_USER, token: "tok", request_id: verify.request_id! }));
    // Another instance answers now: every look at storage finds the question without an answer.
    const looked = new Set<string>();
    await waitFor(
      () => {
        for (const m of next.sent) {
          if (m.type !== "get_conversation" || looked.has(m.request_id!)) continue;
          looked.add(m.request_id!);
          act(() => next.push({ type: "conversation_data", conversation: asked, request_id: m.request_id! }));
        }
        expect(screen.getByTestId("lost-answer")).toBeInTheDocument();
      },
      { timeout: 3_000 },
    );
    expect(looked.size).toBeGreaterThan(1);
    const notice = screen.getByTestId("lost-answer");
    expect(notice).toHaveTextContent("This question got no answer: the server answering it stopped before the answer was saved.");
    // The half answer that was never stored is not shown as if it were.
    expect(screen.queryByText("Half an answer")).toBeNull();
    await user.click(within(notice).getByRole("button", { name: "Ask again" }));
    expect(next.lastOf("text_input")).toMatchObject({ text: "Question 2", conversation_id: "c1" });
    act(() =>
      next.push({
        type: "user_message",
        conversation_id: "c1",
        message: { id: "m9", type: "user", content: "Question 2", timestamp: new Date().toISOString() },
        request_id: next.lastOf("text_input").request_id!,
      }),
    );
    await waitFor(() => expect(screen.queryByTestId("lost-answer")).toBeNull());
  });

  it("says a question asked long ago has no answer, and that a recent one is still being awaited", async () => {
    renderPane();
    await act(() => open(conversation(3)));
    expect(screen.getByTestId("lost-answer")).toHaveTextContent(
      "This question has no answer: it was stopped, or the server answering it stopped, before any of the answer was saved.",
    );
    const recent = testConversation({
      id: "c2",
      messages: [{ id: "q", type: "user", content: "What is a heap?", timestamp: new Date().toISOString() }],
    });
    await act(() => open(recent));
    expect(screen.queryByTestId("lost-answer")).toBeNull();
    expect(screen.getByText("Waiting for the tutor's answer… it will appear here when it is ready.")).toBeInTheDocument();
  });

  it("keeps the question box enabled only while connected, and says why", async () => {
    renderPane();
    await act(() => open(conversation(2)));
    const box = screen.getByLabelText("Your question");
    expect(box).toBeEnabled();
    act(() => sock.drop());
    expect(box).toBeDisabled();
    expect(screen.getByText("Not connected to the server. Reconnecting…")).toBeInTheDocument();
  });

  it("sends on Enter, breaks the line on Shift+Enter", async () => {
    const user = userEvent.setup();
    renderPane();
    await act(() => open(conversation(2)));
    const box = screen.getByLabelText("Your question");
    await user.type(box, "line one{Shift>}{Enter}{/Shift}line two");
    expect(box).toHaveValue("line one\nline two");
    expect(sock.sent.filter((m) => m.type === "text_input")).toHaveLength(0);
    await user.type(box, "{Enter}");
    expect(sock.lastOf("text_input").text).toBe("line one\nline two");
    expect(box).toHaveValue("");
  });

  it("asks without speech when the browser cannot speak", async () => {
    const user = userEvent.setup();
    renderPane();
    await act(() => open(conversation(2)));
    await user.type(screen.getByLabelText("Your question"), "What is a queue?{Enter}");
    expect(sock.lastOf("text_input").speak).toBe(false);
  });
});
