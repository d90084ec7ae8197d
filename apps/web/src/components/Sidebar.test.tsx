import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import type { ConversationSummary } from "@tutor/protocol";
import { Sidebar, type SidebarProps } from "./Sidebar.js";

const NOW = Date.parse("2026-11-24T12:00:00.000Z");

function conv(id: string, title: string, minutesAgo: number, last: ConversationSummary["last_message"] = null): ConversationSummary {
  const t = new Date(NOW - minutesAgo * 60_000).toISOString();
  return { id, title, teaching_mode: "qa", created_at: t, updated_at: t, message_count: last ? 2 : 0, last_message: last };
}

const items = [
  conv("c1", "Hash tables", 2, { type: "ai", content: "A [EXPLAIN]hash function[/EXPLAIN] maps keys to buckets." }),
  conv("c2", "Recursion", 60 * 5, { type: "user", content: "What is a base case?" }),
  conv("c3", "Sorting", 60 * 24 * 3, { type: "ai", content: "Merge sort splits the list." }),
];

function setup(overrides: Partial<SidebarProps> = {}) {
  const props: SidebarProps = {
    mode: "qa",
    items,
    currentId: "c2",
    loading: false,
    loaded: true,
    error: null,
    hasMore: false,
    onSelect: vi.fn(),
    onNew: vi.fn(),
    onRename: vi.fn().mockResolvedValue(null),
    onDelete: vi.fn().mockResolvedValue(null),
    onClearAll: vi.fn().mockResolvedValue(null),
    onLoadMore: vi.fn(),
    now: NOW,
    ...overrides,
  };
  const utils = render(<Sidebar {...props} />);
  return { ...utils, props, user: userEvent.setup() };
}

const rowButtons = () => screen.getAllByRole("button").filter((b) => b.hasAttribute("data-conversation"));

describe("sidebar", () => {
  it("lists the mode's conversations newest first with title, preview and relative time, current highlighted", () => {
    setup();
    expect(screen.getByRole("navigation", { name: "Q&A conversations" })).toBeInTheDocument();
    const rows = rowButtons();
    expect(rows.map((r) => r.getAttribute("data-conversation"))).toEqual(["c1", "c2", "c3"]);
    expect(rows[0]).toHaveTextContent("Hash tables");
    // Marks are stripped from previews; the student's own words are labelled.
    expect(rows[0]).toHaveTextContent("A hash function maps keys to buckets.");
    expect(rows[1]).toHaveTextContent("You: What is a base case?");
    expect(within(rows[0]!).getByText(/min/)).toHaveTextContent(/2 min/);
    expect(within(rows[1]!).getByText(/hr/)).toHaveTextContent(/5 hr/);
    expect(within(rows[2]!).getByText(/days/)).toHaveTextContent(/3 days/);
    expect(rows[1]).toHaveAttribute("aria-current", "page");
    expect(rows[0]).not.toHaveAttribute("aria-current");
  });

  it("opens a conversation and starts a new one", async () => {
    const { props, user } = setup();
    await user.click(rowButtons()[2]!);
    expect(props.onSelect).toHaveBeenCalledWith("c3");
    await user.click(screen.getByRole("button", { name: "New conversation" }));
    expect(props.onNew).toHaveBeenCalled();
  });

  it("renames in place: Enter saves, Escape cancels, focus returns to the row", async () => {
    const { props, user } = setup();
    await user.click(screen.getByRole("button", { name: "Rename “Recursion”" }));
    const input = screen.getByRole("textbox", { name: "New title for “Recursion”" });
    expect(input).toHaveFocus();
    await user.clear(input);
    await user.type(input, "Recursion and base cases{Enter}");
    expect(props.onRename).toHaveBeenCalledWith("c2", "Recursion and base cases");
    expect(screen.queryByRole("textbox")).toBeNull();
    expect(rowButtons()[1]).toHaveFocus();

    await user.click(screen.getByRole("button", { name: "Rename “Sorting”" }));
    await user.type(screen.getByRole("textbox"), " algorithms{Escape}");
    expect(props.onRename).toHaveBeenCalledTimes(1);
    expect(rowButtons()[2]).toHaveFocus();
  });

  it("shows a rename error next to the row", async () => {
    const { user } = setup({ onRename: vi.fn().mockResolvedValue("That conversation no longer exists.") });
    await user.click(screen.getByRole("button", { name: "Rename “Sorting”" }));
    await user.type(screen.getByRole("textbox"), "!{Enter}");
    expect(await screen.findByRole("alert")).toHaveTextContent("That conversation no longer exists.");
  });

  it("deletes only after confirmation", async () => {
    const { props, user } = setup();
    await user.click(screen.getByRole("button", { name: "Delete “Hash tables”" }));
    let dialog = screen.getByRole("alertdialog", { name: "Delete this conversation?" });
    expect(dialog).toHaveTextContent("“Hash tables” and its messages will be deleted.");
    expect(within(dialog).getByRole("button", { name: "Cancel" })).toHaveFocus();
    await user.keyboard("{Escape}");
    expect(screen.queryByRole("alertdialog")).toBeNull();
    expect(props.onDelete).not.toHaveBeenCalled();

    await user.click(screen.getByRole("button", { name: "Delete “Hash tables”" }));
    dialog = screen.getByRole("alertdialog");
    await user.click(within(dialog).getByRole("button", { name: "Delete" }));
    expect(props.onDelete).toHaveBeenCalledWith("c1");
    expect(screen.queryByRole("alertdialog")).toBeNull();
  });

  it("keeps the dialog open with the error when deleting fails", async () => {
    const { user } = setup({ onDelete: vi.fn().mockResolvedValue("Not connected to the server. Reconnecting…") });
    await user.click(screen.getByRole("button", { name: "Delete “Sorting”" }));
    await user.click(within(screen.getByRole("alertdialog")).getByRole("button", { name: "Delete" }));
    expect(within(screen.getByRole("alertdialog")).getByRole("alert")).toHaveTextContent("Not connected");
  });

  it("clears all conversations of the mode after confirmation", async () => {
    const { props, user } = setup();
    await user.click(screen.getByRole("button", { name: "Clear all Q&A conversations" }));
    const dialog = screen.getByRole("alertdialog", { name: "Clear all Q&A conversations?" });
    await user.click(within(dialog).getByRole("button", { name: "Clear all" }));
    expect(props.onClearAll).toHaveBeenCalledTimes(1);
  });

  it("asks for the next page when there is one, and says when loading", async () => {
    const { props, user, rerender } = setup({ hasMore: true });
    await user.click(screen.getByRole("button", { name: "Load more" }));
    expect(props.onLoadMore).toHaveBeenCalledTimes(1);
    rerender(<Sidebar {...props} hasMore loading />);
    expect(screen.getByRole("status")).toHaveTextContent("Loading conversations…");
    rerender(<Sidebar {...props} hasMore={false} loading={false} />);
    expect(screen.queryByRole("button", { name: "Load more" })).toBeNull();
  });

  it("says so when the mode has no conversations", () => {
    setup({ items: [], mode: "teacher", currentId: null });
    expect(screen.getByText(/No Teacher conversations yet/)).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Clear all Teacher conversations" })).toBeDisabled();
  });

  it("disables changes while disconnected", () => {
    setup({ disabled: true });
    expect(screen.getByRole("button", { name: "Rename “Recursion”" })).toBeDisabled();
    expect(screen.getByRole("button", { name: "Delete “Recursion”" })).toBeDisabled();
  });
});
