// The server's limits as the student sees them, on the real store and
// controller with the server played by an in-memory socket: the countdown
// after `rate_limited`, the composer paused and recovering by itself, the
// sign-in screen's wait, and the quiet budget line.
import { act, render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { createRef } from "react";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Budget, PublicConfig } from "@tutor/protocol";
import type { AppController } from "../state/controller.js";
import { AppProvider } from "../state/context.js";
import { budgetLine, clockText } from "../state/limits.js";
import { FakeSocket } from "../test-socket.js";
import { answerVerify, signedInStorage, testController, testConversation } from "../test-fixtures.js";
import { ChatPane } from "./ChatPane.js";
import { AuthScreen } from "./AuthScreen.js";

const LIMITS = { max_text_chars: 50_000, page_size: 100, turns_per_hour: 120, tokens_per_day: 1_000_000 };
const CONFIG: PublicConfig = {
  llm: { configured: true, provider: "test", models: ["m"] },
  stt: { provider: "browser" },
  tts: { provider: "web", default_voice: "default" },
  livekit: { enabled: false },
  limits: LIMITS,
  teaching_modes: ["teacher", "qa"],
};

let app: AppController;
let sock: FakeSocket;

function start(signedIn: boolean) {
  if (signedIn) signedInStorage();
  else {
    FakeSocket.all = [];
    localStorage.clear();
  }
  app = testController({
    fetchImpl: async (input) =>
      String(input) === "/api/config" ? new Response(JSON.stringify(CONFIG), { status: 200 }) : new Response("{}", { status: 404 }),
  });
  app.start();
  sock = FakeSocket.last;
}

async function signedIn() {
  start(true);
  await answerVerify(app, sock);
  await waitFor(() => expect(app.state.config).not.toBeNull());
  const opening = app.openConversation("c1");
  sock.push({ type: "conversation_data", conversation: testConversation({ id: "c1", title: "Stacks" }), request_id: sock.lastOf("get_conversation").request_id! });
  await opening;
  render(
    <AppProvider controller={app}>
      <ChatPane composerRef={createRef<HTMLTextAreaElement>()} />
    </AppProvider>,
  );
}

/** The student types a question and presses Enter; the server refuses it. */
async function askRefused(retry_after_s: number, limit: "turns_per_hour" | "tokens_per_day" | "turns_running" | "voice_rate") {
  const user = userEvent.setup();
  await user.type(screen.getByLabelText("Your question"), "What is a heap?{Enter}");
  const sent = sock.lastOf("text_input");
  act(() => {
    sock.push({ type: "error", code: "rate_limited", message: "slow down", retry_after_s, limit, request_id: sent.request_id! });
  });
  return user;
}

const sendButton = () => screen.getByRole("button", { name: "Send" });

afterEach(() => app.shutdown());

describe("a refused question", { timeout: 15_000 }, () => {
  beforeEach(signedIn);

  it("shows why and a live countdown, pauses sending, and sends nothing meanwhile", async () => {
    const user = await askRefused(252, "turns_per_hour");
    const notice = screen.getByTestId("limit-notice");
    expect(notice.textContent).toMatch(/^You have asked as many questions as this hour allows\. You can ask again in 4:1[12]\./);
    // Screen readers hear a clock time once, not every second.
    expect(notice.querySelector(".sr-only")?.textContent).toMatch(/^You can ask again at .+\.$/);
    // The question was not answered: nothing pending, and no second, generic notice.
    expect(app.state.pending).toBeNull();
    expect(app.state.notices).toEqual([]);
    expect(screen.getByText(/Sending is paused until then/)).toBeTruthy();

    const before = sock.sent.length;
    await user.type(screen.getByLabelText("Your question"), "What is a tree?");
    expect(sendButton()).toHaveProperty("disabled", true);
    await user.keyboard("{Enter}");
    expect(sock.sent.length).toBe(before);
    // The text the student typed stays for later.
    expect(screen.getByLabelText("Your question")).toHaveProperty("value", "What is a tree?");
    // Questions from elsewhere (a chapter, an example) say why too.
    expect(app.ask("Another one")).toMatch(/^You have asked as many questions as this hour allows\. You can ask again in 4:1\d\.$/);

    // The countdown says it all: no budget line repeating it.
    expect(screen.queryByTestId("budget-line")).toBeNull();
    // The countdown moves on by itself.
    const first = notice.textContent;
    await waitFor(() => expect(screen.getByTestId("limit-notice").textContent).not.toBe(first), { timeout: 5000 });
  });

  it("recovers by itself when the wait is over", async () => {
    const user = await askRefused(1, "turns_running");
    expect(screen.getByTestId("limit-notice").textContent).toMatch(/^Two answers are still being written for you\. You can ask again in 0:01\./);
    await waitFor(() => expect(screen.queryByTestId("limit-notice")).toBeNull(), { timeout: 6000 });
    expect(app.state.rateLimit).toBeNull();
    expect(screen.queryByText(/Sending is paused/)).toBeNull();
    await user.type(screen.getByLabelText("Your question"), "What is a tree?");
    expect(sendButton()).toHaveProperty("disabled", false);
    await user.keyboard("{Enter}");
    expect(sock.lastOf("text_input").text).toBe("What is a tree?");
  });

  it("counts down the day's token budget in hours", async () => {
    await askRefused(3 * 3600 + 12 * 60 + 5, "tokens_per_day");
    expect(screen.getByTestId("limit-notice").textContent).toMatch(/^You have used today's tutor budget\. You can ask again in 3:12:0[45]\./);
  });

  it("shows a voice limit without pausing typed questions", async () => {
    await askRefused(3, "voice_rate");
    expect(screen.getByTestId("limit-notice").textContent).toMatch(/You can speak again in 0:0[23]\./);
    expect(screen.queryByText(/Sending is paused/)).toBeNull();
    expect(app.ask("What is a tree?")).toBeNull();
  });

  it("forgets the wait when the student signs out", async () => {
    await askRefused(600, "turns_per_hour");
    act(() => sock.push({ type: "session_ended", reason: "logout" }));
    expect(app.state.rateLimit).toBeNull();
  });
});

describe("the budget line", () => {
  beforeEach(signedIn);

  const answer = (budget: Budget) =>
    act(() => {
      sock.push({ type: "ai_response", conversation_id: "c1", message_id: `a${Math.random()}`, text: "A heap is a tree.", budget });
    });

  it("stays quiet while plenty is left", async () => {
    answer({ turns_left: 80, turns_reset_s: 3000, tokens_left: 900_000, tokens_reset_s: 80_000 });
    expect(app.state.budget?.budget.turns_left).toBe(80);
    expect(screen.queryByTestId("budget-line")).toBeNull();
  });

  it("says how many questions are left near the end of the hour's", async () => {
    answer({ turns_left: 4, turns_reset_s: 59 * 60, tokens_left: 900_000, tokens_reset_s: 80_000 });
    expect(screen.getByTestId("budget-line").textContent).toBe("4 questions left this hour (more in 59 min)");
    answer({ turns_left: 1, turns_reset_s: 58 * 60, tokens_left: 900_000, tokens_reset_s: 80_000 });
    expect(screen.getByTestId("budget-line").textContent).toBe("1 question left this hour (more in 58 min)");
  });

  it("says how much of the day's budget is left near its end", async () => {
    answer({ turns_left: 100, turns_reset_s: 3000, tokens_left: 62_000, tokens_reset_s: 5 * 3600 });
    expect(screen.getByTestId("budget-line").textContent).toBe("6% of today's tutor budget left (renews in 5 h)");
  });
});

describe("budgetLine", () => {
  const at = 1_000_000;
  it("uses a tenth of a small hourly limit, at least one", () => {
    const b = { turns_left: 1, turns_reset_s: 600, tokens_left: null, tokens_reset_s: null };
    expect(budgetLine({ budget: b, at }, { ...LIMITS, turns_per_hour: 2 }, at)).toBe("1 question left this hour (more in 10 min)");
    expect(budgetLine({ budget: { ...b, turns_left: 2 }, at }, { ...LIMITS, turns_per_hour: 10 }, at)).toBeNull();
    expect(budgetLine({ budget: { ...b, turns_left: 0 }, at }, { ...LIMITS, turns_per_hour: 10 }, at)).toBe("No questions left this hour (more in 10 min)");
  });
  it("says nothing once the window renewed", () => {
    const b = { turns_left: 0, turns_reset_s: 600, tokens_left: 0, tokens_reset_s: 600 };
    expect(budgetLine({ budget: b, at }, LIMITS, at + 601_000)).toBeNull();
  });
  it("formats waits as a clock", () => {
    expect(clockText(252_000)).toBe("4:12");
    expect(clockText(4_001)).toBe("0:05");
    expect(clockText(3_725_000)).toBe("1:02:05");
  });
});

describe("the sign-in screen", { timeout: 15_000 }, () => {
  beforeEach(() => {
    start(false);
    sock.open();
    render(
      <AppProvider controller={app}>
        <AuthScreen />
      </AppProvider>,
    );
  });

  const submit = () => document.querySelector<HTMLButtonElement>("button[type=submit]")!;

  async function signInThrottled(retry_after_s: number) {
    const user = userEvent.setup();
    await user.type(screen.getByLabelText("Username"), "ada");
    await user.type(screen.getByLabelText("Password"), "wrong password");
    await user.click(submit());
    const req = sock.lastOf("auth_request");
    act(() => {
      sock.push({
        type: "auth_response",
        action: "login",
        success: false,
        error: "too many failed sign-in attempts for this account; try again in 13 minutes",
        error_type: "rate_limited",
        retry_after_s,
        request_id: req.request_id!,
      });
    });
    return user;
  }

  it("counts the wait down and keeps the button off until then", async () => {
    await signInThrottled(754);
    await waitFor(() => expect(screen.getByRole("alert").textContent).toMatch(/^Too many sign-in attempts\. You can try again in 12:3[34]\./));
    expect(submit()).toHaveProperty("disabled", true);
  });

  it("gives the button back by itself when the wait is over", async () => {
    const user = await signInThrottled(2);
    await waitFor(() => expect(screen.getByRole("alert").textContent).toMatch(/^Too many sign-in attempts\. You can try again in 0:0[12]\./));
    expect(submit()).toHaveProperty("disabled", true);
    await waitFor(() => expect(submit()).toHaveProperty("disabled", false), { timeout: 6000 });
    expect(screen.getByRole("alert").textContent).toBe("");
    const before = sock.sent.filter((m) => m.type === "auth_request").length;
    await user.click(submit());
    expect(sock.sent.filter((m) => m.type === "auth_request").length).toBe(before + 1);
  });
});
