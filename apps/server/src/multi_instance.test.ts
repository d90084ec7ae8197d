// Several real server processes on one PostgreSQL with one JWT_SECRET, as a
// school runs them behind a load balancer: what one student does through one
// instance is seen live through the others, and an instance dying mid-answer
// loses nothing that was acknowledged.
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { FIXED_ANSWERS } from "@tutor/protocol";
import { behave, pgAvailable, startFakeLlm, startPostgres, startServerProcess, type FakeLlm, type PgHandle, type ServerProcess } from "@tutor/testkit";
import { FAST_MODEL, MAIN_MODEL, WsClient } from "./test-helpers.js";

const root = resolve(import.meta.dirname, "../../..");
const requirePg = process.env.REQUIRE_SERVICES === "1";
const SEEN_WITHIN_MS = 2_000;
/** Every instance's hour budget (LIMIT_TURNS_PER_HOUR): small, so a test can spend it. */
const TURNS_PER_HOUR = 4;
/** The running-turn lease, shortened (test-main.ts) so a dead instance's slot lapses within a test. */
const LEASE_MS = 3_000;

let db: PgHandle;
let fake: FakeLlm;
let dataDir: string;
let servers: ServerProcess[] = [];
const clients: WsClient[] = [];
let env: Record<string, string>;

async function launch(name: string): Promise<ServerProcess> {
  return startServerProcess({ entry: join(root, "apps/server/src/test-main.ts"), cwd: root, name, env });
}

async function connect(server: ServerProcess, token: string): Promise<WsClient> {
  const c = await WsClient.connect(server.wsUrl);
  clients.push(c);
  const r = await c.request({ type: "auth_request", data: { type: "verify", token } }, "auth_response");
  if (!r.success) throw new Error(`verify failed on ${server.name}: ${JSON.stringify(r)}`);
  return c;
}

let seq = 0;
async function register(server: ServerProcess): Promise<{ token: string; userId: string; username: string }> {
  const username = `multi${process.pid}_${++seq}`;
  const res = await fetch(`${server.url}/api/auth/register`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username, password: "correct horse battery" }),
  });
  const body = (await res.json()) as { token: string; user: { id: string } };
  if (res.status !== 201) throw new Error(`register: ${res.status} ${JSON.stringify(body)}`);
  return { token: body.token, userId: body.user.id, username };
}

/** One student with a tab on each instance. */
async function studentOnEach(): Promise<{ token: string; userId: string; username: string; tabs: WsClient[] }> {
  const s = await register(servers[0]!);
  const tabs = await Promise.all(servers.map((srv) => connect(srv, s.token)));
  return { ...s, tabs };
}

describe.runIf(pgAvailable() || requirePg)("several app servers on one PostgreSQL", () => {
  beforeAll(async () => {
    if (!pgAvailable()) throw new Error("REQUIRE_SERVICES=1 but PostgreSQL is not available (no initdb/pg_ctl and no TEST_DATABASE_URL)");
    [db, fake, dataDir] = await Promise.all([startPostgres(), startFakeLlm({ models: [MAIN_MODEL, FAST_MODEL] }), mkdtemp(join(tmpdir(), "tutor-multi-"))]);
    fake.setDefault(FAST_MODEL, behave.reply("YES"));
    fake.setDefault(MAIN_MODEL, behave.reply("A linked list is a chain of nodes."));
    env = {
      DATABASE_URL: db.url,
      JWT_SECRET: randomBytes(32).toString("hex"),
      DATA_DIR: dataDir,
      LLM_BASE_URL: fake.url,
      LLM_API_KEY: "k",
      LLM_MODELS: `${MAIN_MODEL},${FAST_MODEL}`,
      LLM_FAST_MODEL: FAST_MODEL,
      LOG_LEVEL: "info",
      LIMIT_TURNS_PER_HOUR: String(TURNS_PER_HOUR),
      TUTOR_TEST_CONFIG: JSON.stringify({ limits: { turnLeaseMs: LEASE_MS } }),
    };
    // The first runs the migrations; the others then start side by side.
    servers = [await launch("server-a")];
    servers.push(...(await Promise.all([launch("server-b"), launch("server-c")])));
  }, 180_000);

  afterAll(async () => {
    // An instance that died on its own is the bug a failing test is about: show why.
    for (const srv of servers) {
      const exit = await Promise.race([srv.exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), 10))]);
      if (exit) console.error(`${srv.name} exited (${JSON.stringify(exit)}):\n${srv.output().slice(-3_000)}`);
    }
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await Promise.all(servers.map((s) => s.stop()));
    await fake?.close();
    await db?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it("a turn on one instance shows on the student's tabs on the other two within 2 s", async () => {
    const { tabs } = await studentOnEach();
    const [a, b, c] = tabs as [WsClient, WsClient, WsClient];
    const fromB = b.messages.length;
    const fromC = c.messages.length;
    const final = await a.request({ type: "text_input", text: "What is a linked list?", teaching_mode: "qa" }, "ai_response", 15_000);
    const conversationId = final.conversation_id as string;
    const shown = (m: { type: string; conversation?: { id: string; messages?: unknown[] } }) =>
      m.type === "conversation_data" || m.type === "conversation_updated" ? m.conversation?.id === conversationId : false;
    const [onB, onC] = await Promise.all([b.waitFor(shown, SEEN_WITHIN_MS, fromB), c.waitFor(shown, SEEN_WITHIN_MS, fromC)]);
    expect(onB.conversation).toMatchObject({ id: conversationId, message_count: 2 });
    expect(onC.conversation).toMatchObject({ id: conversationId, message_count: 2 });
  });

  it("rename, delete and clear on one instance are seen on the others within 2 s", async () => {
    const { tabs } = await studentOnEach();
    const [a, b, c] = tabs as [WsClient, WsClient, WsClient];
    const created = await b.request({ type: "new_conversation", teaching_mode: "qa" }, "conversation_data");
    const id = (created.conversation as { id: string }).id;

    let from = [a.messages.length, c.messages.length];
    await b.request({ type: "rename_conversation", conversation_id: id, title: "Pointers, renamed" }, undefined);
    const renamed = (m: { type: string; conversation?: { id: string; title: string } }) =>
      (m.type === "conversation_data" || m.type === "conversation_updated") && m.conversation?.id === id && m.conversation.title === "Pointers, renamed";
    await Promise.all([a.waitFor(renamed, SEEN_WITHIN_MS, from[0]), c.waitFor(renamed, SEEN_WITHIN_MS, from[1])]);

    from = [a.messages.length, b.messages.length];
    await c.request({ type: "delete_conversation", conversation_id: id }, "conversation_deleted");
    const deleted = (m: { type: string; conversation_id?: string }) => m.type === "conversation_deleted" && m.conversation_id === id;
    await Promise.all([a.waitFor(deleted, SEEN_WITHIN_MS, from[0]), b.waitFor(deleted, SEEN_WITHIN_MS, from[1])]);

    from = [b.messages.length, c.messages.length];
    const cleared = await a.request({ type: "clear_all_conversations", teaching_mode: "qa" }, "conversations_cleared");
    const sameClear = (m: { type: string; new_conversation_id?: string }) => m.type === "conversations_cleared" && m.new_conversation_id === cleared.new_conversation_id;
    await Promise.all([b.waitFor(sameClear, SEEN_WITHIN_MS, from[0]), c.waitFor(sameClear, SEEN_WITHIN_MS, from[1])]);
  });

  it("one student's events never reach another student's tabs on other instances", async () => {
    const one = await studentOnEach();
    const other = await studentOnEach();
    const before = other.tabs.map((t) => t.messages.length);
    await one.tabs[0]!.request({ type: "new_conversation", teaching_mode: "qa" }, "conversation_data");
    const renamedId = (one.tabs[0]!.messages.at(-1)!.conversation as { id: string }).id;
    await one.tabs[0]!.request({ type: "rename_conversation", conversation_id: renamedId, title: "mine" }, undefined);
    await one.tabs[1]!.waitFor((m) => (m.conversation as { title?: string } | undefined)?.title === "mine", SEEN_WITHIN_MS);
    expect(other.tabs.map((t) => t.messages.length)).toEqual(before);
  });

  it("logout on one instance ends the sessions of that token on the others within 2 s", async () => {
    const { token, tabs } = await studentOnEach();
    const [, b, c] = tabs as [WsClient, WsClient, WsClient];
    const from = [b.messages.length, c.messages.length];
    const r = await fetch(`${servers[0]!.url}/api/auth/logout`, { method: "POST", headers: { authorization: `Bearer ${token}` } });
    expect(r.status).toBe(204);
    const ended = (m: { type: string; reason?: string }) => m.type === "session_ended" && m.reason === "logout";
    await Promise.all([b.waitFor(ended, SEEN_WITHIN_MS, from[0]), c.waitFor(ended, SEEN_WITHIN_MS, from[1])]);
    // The connection on C is signed out: it may not act for the student any more.
    const refused = await c.request({ type: "list_conversations" }, "error");
    expect(refused.code).toBe("unauthenticated");
  });

  it("the login throttle is shared: failures on one instance lock the account on the others", async () => {
    const s = await register(servers[0]!);
    const login = (srv: ServerProcess, password: string) =>
      fetch(`${srv.url}/api/auth/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ username: s.username, password }),
      });
    // Five wrong passwords spread over three instances...
    for (let i = 0; i < 5; i++) expect((await login(servers[i % 3]!, "wrong password!")).status).toBe(401);
    // ...and the right one is refused on each of them.
    for (const srv of servers) {
      const r = await login(srv, "correct horse battery");
      expect(r.status).toBe(429);
    }
  });

  it("the turn and token budgets are shared: turns through three instances count in one hour, tokens spent on one refuse the next turn on another", async () => {
    const { token, tabs } = await studentOnEach();
    const left: unknown[] = [];
    for (let i = 0; i < TURNS_PER_HOUR; i++) {
      const r = await tabs[i % 3]!.request({ type: "text_input", text: "What is a stack?", teaching_mode: "qa" }, "ai_response", 15_000);
      left.push((r.budget as { turns_left: number }).turns_left);
    }
    expect(left).toEqual([3, 2, 1, 0]);
    for (const tab of tabs) {
      const refused = await tab.request({ type: "text_input", text: "And a queue?", teaching_mode: "qa" }, "error");
      expect(refused).toMatchObject({ code: "rate_limited", limit: "turns_per_hour" });
    }
    const conversationId = tabs[0]!.messages.find((m) => m.type === "ai_response")!.conversation_id as string;
    const sse = await fetch(`${servers[2]!.url}/api/conversations/${conversationId}/messages`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ text: "And a queue?" }),
    });
    expect(sse.status).toBe(429);

    // Tokens: a model reporting a day's worth of usage on A leaves nothing for B or C.
    const other = await studentOnEach();
    fake.script(MAIN_MODEL, behave.reply("A very long answer, as the model counts it.", { usage: { prompt_tokens: 999_000, completion_tokens: 2_000 } }));
    const big = await other.tabs[0]!.request({ type: "text_input", text: "Tell me everything about compilers", teaching_mode: "qa" }, "ai_response", 15_000);
    expect(big.budget).toMatchObject({ tokens_left: 0 });
    for (const tab of other.tabs.slice(1)) {
      const refused = await tab.request({ type: "text_input", text: "And about linkers?", teaching_mode: "qa" }, "error");
      expect(refused).toMatchObject({ code: "rate_limited", limit: "tokens_per_day" });
    }
  }, 60_000);

  it("at most 2 answers of one student run at once over all instances, past the lease; an instance killed mid-answer frees its slot, the other answer keeps its own", async () => {
    const victim = await launch("server-lease-victim");
    servers.push(victim);
    const s = await register(servers[0]!);
    const onVictim = await connect(victim, s.token);
    const [onA, onB, onC] = await Promise.all(servers.slice(0, 3).map((srv) => connect(srv, s.token)));
    const slow = (seconds: number) => behave.reply(Array.from({ length: seconds * 4 }, (_, i) => `word${i}`).join(" "), { chunkDelayMs: 250 });
    fake.script(MAIN_MODEL, [slow(30), slow(30), behave.reply("Your third question, answered.")]);
    let rid = 0;
    /** Asks on `tab`; resolves with the refusal, or with the request id once the question was taken in. */
    const attempt = async (tab: WsClient): Promise<{ admitted: string } | { refused: Record<string, unknown> }> => {
      const request_id = `cap${++rid}`;
      const from = tab.messages.length;
      tab.send({ type: "text_input", text: "Explain hashing", teaching_mode: "qa", new_conversation: true, request_id });
      const m = await tab.waitFor((x) => x.request_id === request_id && (x.type === "error" || x.type === "user_message"), 10_000, from);
      return m.type === "error" ? { refused: m } : { admitted: request_id };
    };
    const first = await attempt(onVictim);
    const second = await attempt(onB!);
    expect("admitted" in first && "admitted" in second).toBe(true);
    await onB!.waitFor((m) => m.type === "ai_response_delta", 10_000);
    expect(await attempt(onC!)).toMatchObject({ refused: { code: "rate_limited", limit: "turns_running" } });
    // Longer than the lease: both running answers renewed their slots.
    await new Promise((r) => setTimeout(r, LEASE_MS + 1_000));
    expect(await attempt(onA!)).toMatchObject({ refused: { code: "rate_limited", limit: "turns_running" } });

    victim.kill("SIGKILL");
    await victim.exited;
    servers.splice(servers.indexOf(victim), 1);
    // The dead instance's slot lapses within a lease; B's answer still runs and still holds the other.
    const deadline = Date.now() + LEASE_MS + 5_000;
    let third = await attempt(onC!);
    while ("refused" in third && Date.now() < deadline) {
      expect(third.refused).toMatchObject({ limit: "turns_running" });
      await new Promise((r) => setTimeout(r, 250));
      third = await attempt(onC!);
    }
    expect(third).toHaveProperty("admitted");
    expect(onB!.messages.some((m) => m.type === "ai_response")).toBe(false);
    expect(await attempt(onA!)).toMatchObject({ refused: { code: "rate_limited", limit: "turns_running" } });
    await onC!.waitFor((m) => m.type === "ai_response" && m.request_id === (third as { admitted: string }).admitted, 15_000);
    onB!.send({ type: "cancel_response" });
    await onB!.waitFor((m) => m.type === "ai_response", 10_000);
  }, 90_000);

  it("cancel_response in a tab on another instance stops the answer where it runs (WebSocket and SSE); it is stored marked interrupted", async () => {
    const { token, tabs } = await studentOnEach();
    const [a, b, c] = tabs as [WsClient, WsClient, WsClient];
    const slow = behave.reply(Array.from({ length: 80 }, (_, i) => `step${i}`).join(" "), { chunkDelayMs: 200 });
    fake.script(MAIN_MODEL, [slow, slow]);
    a.send({ type: "text_input", text: "Explain hashing", teaching_mode: "qa", new_conversation: true, request_id: "x1" });
    const ack = await a.waitFor((m) => m.type === "user_message" && m.request_id === "x1", 10_000);
    await a.waitFor((m) => m.type === "ai_response_delta" && m.request_id === "x1", 10_000);
    const conversationId = ack.conversation_id as string;
    b.send({ type: "cancel_response", conversation_id: conversationId });
    const final = await a.waitFor((m) => m.type === "ai_response" && m.request_id === "x1", 5_000);
    expect(final).toMatchObject({ cancelled: true });
    const stored = await c.request({ type: "get_conversation", conversation_id: conversationId }, "conversation_data");
    const ai = (stored.conversation as { messages: { type: string; content: string }[] }).messages.filter((m) => m.type === "ai");
    expect(ai).toHaveLength(1);
    expect(ai[0]!.content.endsWith(FIXED_ANSWERS.interruptedNote)).toBe(true);
    expect(ai[0]!.content.startsWith("step0")).toBe(true);

    // The same for an answer streamed over SSE from C.
    const res = await fetch(`${servers[2]!.url}/api/conversations/${conversationId}/messages`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ text: "Explain hashing again" }),
    });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    let text = "";
    const decoder = new TextDecoder();
    while (!text.includes("event: ai_response_delta")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    b.send({ type: "cancel_response", conversation_id: conversationId });
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    const end = text.split("\n\n").find((e) => e.startsWith("event: ai_response\n"));
    expect(end, text.slice(-500)).toBeDefined();
    expect(JSON.parse(end!.split("data: ")[1]!)).toMatchObject({ cancelled: true });
  }, 60_000);

  it("/readyz reports the database and the PostgreSQL hub", async () => {
    const r = await fetch(`${servers[0]!.url}/readyz`);
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ status: "ready", database: "ok", hub: { kind: "postgres", connected: true } });
    const metrics = await (await fetch(`${servers[1]!.url}/metrics`)).text();
    expect(metrics).toMatch(/^tutor_hub_connected 1$/m);
    // Earlier tests sent events from A and C that B received.
    expect(metrics).toMatch(/^tutor_hub_events_total\{direction="received",kind="[a-z_]+"\} [1-9]/m);
    expect(metrics).toMatch(/^tutor_hub_lag_seconds_count [1-9]/m);
  });

  it("pg_ctl restart under traffic: no instance exits, the hubs reconnect, open tabs get a fresh list, events flow again", async () => {
    if (!db.restart) return expect.fail("needs the private cluster (TEST_DATABASE_URL cannot be restarted)");
    const { tabs } = await studentOnEach();
    const [a, b] = tabs as [WsClient, WsClient, WsClient];
    const created = await a.request({ type: "new_conversation", teaching_mode: "qa" }, "conversation_data");
    const id = (created.conversation as { id: string }).id;
    const from = tabs.map((t) => t.messages.length);
    let n = 0;
    let stop = false;
    // Renames keep coming through A while PostgreSQL restarts; some fail (database away), none may crash anything.
    const traffic = (async () => {
      while (!stop) {
        a.send({ type: "rename_conversation", conversation_id: id, title: `t${n++}` });
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    await new Promise((r) => setTimeout(r, 200));
    await db.restart();
    // Every tab, on every instance, is re-synchronised: an unsolicited conversations_list.
    await Promise.all(tabs.map((t, i) => t.waitFor((m) => m.type === "conversations_list" && m.request_id === undefined, 20_000, from[i])));
    stop = true;
    await traffic;
    for (const srv of servers) {
      const r = await fetch(`${srv.url}/readyz`);
      expect(r.status, `${srv.name} ready again`).toBe(200);
    }
    expect(await Promise.race([...servers.map((s) => s.exited.then(() => s.name)), new Promise((r) => setTimeout(() => r("none"), 100))])).toBe("none");
    const after = b.messages.length;
    await a.request({ type: "rename_conversation", conversation_id: id, title: "after the restart" }, undefined);
    await b.waitFor((m) => (m.conversation as { title?: string } | undefined)?.title === "after the restart", SEEN_WITHIN_MS, after);
  }, 60_000);

  it("a logout missed while one instance's hub was cut off ends that instance's WebSocket and SSE sessions once its hub is back", async () => {
    const { token, tabs } = await studentOnEach();
    const [a, b, c] = tabs as [WsClient, WsClient, WsClient];
    const [srvA, srvB] = servers as [ServerProcess, ServerProcess];
    const created = await a.request({ type: "new_conversation", teaching_mode: "qa" }, "conversation_data");
    const conversationId = (created.conversation as { id: string }).id;
    fake.script(MAIN_MODEL, behave.reply(Array.from({ length: 100 }, (_, i) => `part${i}`).join(" "), { chunkDelayMs: 200 }));
    const res = await fetch(`${srvA.url}/api/conversations/${conversationId}/messages`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ text: "Explain B-trees slowly" }),
    });
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let sse = "";
    while (!sse.includes("event: ai_response_delta")) {
      const { value, done } = await reader.read();
      if (done) break;
      sse += decoder.decode(value, { stream: true });
    }
    const rest = (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        sse += decoder.decode(value, { stream: true });
      }
    })();

    // A's listening connection is cut, and A cannot get a new one for a while; everything else stays up.
    // From the maintenance database: PostgreSQL will not close the one a session is connected to.
    const maintenance = new URL(db.url);
    const dbName = decodeURIComponent(maintenance.pathname.slice(1));
    maintenance.pathname = "/postgres";
    const admin = new pg.Client({ connectionString: maintenance.href });
    await admin.connect();
    const quoted = `"${dbName.replaceAll('"', '""')}"`;
    const fromA = a.messages.length;
    try {
      await admin.query(`alter database ${quoted} allow_connections false`);
      const cut = await admin.query("select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1", [`tutor-hub ${srvA.pid}`]);
      expect(cut.rowCount).toBe(1);
      await expect.poll(async () => (await fetch(`${srvA.url}/readyz`)).status, { timeout: 10_000 }).toBe(503);
      const out = await fetch(`${srvB.url}/api/auth/logout`, { method: "POST", headers: { authorization: `Bearer ${token}` } });
      expect(out.status).toBe(204);
      const ended = (m: { type: string; reason?: string }) => m.type === "session_ended" && m.reason === "logout";
      await Promise.all([b.waitFor(ended, SEEN_WITHIN_MS), c.waitFor(ended, SEEN_WITHIN_MS)]);
      // A did not hear it: its tab is still signed in and its SSE answer still streams.
      await new Promise((r) => setTimeout(r, 500));
      expect(a.messages.slice(fromA).some((m) => m.type === "session_ended")).toBe(false);
      expect(sse).not.toContain("event: session_ended");
    } finally {
      await admin.query(`alter database ${quoted} allow_connections true`);
      await admin.end();
    }
    // A's hub reconnects and re-checks what it serves: both end now, with the reason.
    const onA = await a.waitFor((m) => m.type === "session_ended", 20_000, fromA);
    expect(onA.reason).toBe("logout");
    await rest;
    expect(sse).toContain('event: session_ended\ndata: {"type":"session_ended","reason":"logout"}');
    // ...and nothing more of the answer after it: the stream closed.
    expect(sse.slice(sse.indexOf("event: session_ended"))).not.toContain("ai_response_delta");
  }, 60_000);

  it("kill -9 of an instance mid-answer: the student goes on elsewhere, every acknowledged message is there, the cut answer is never half-written", async () => {
    const victim = await launch("server-victim");
    servers.push(victim);
    const s = await register(servers[0]!);
    const onVictim = await connect(victim, s.token);
    // An answer that streams slowly, so the instance dies in the middle of it.
    fake.script(MAIN_MODEL, behave.reply("Recursion is a function calling itself again and again.", { chunkDelayMs: 400 }));
    const started = onVictim.messages.length;
    onVictim.send({ type: "text_input", text: "Explain recursion", teaching_mode: "qa", request_id: "k1" });
    const ack = await onVictim.waitFor((m) => m.type === "user_message" && m.request_id === "k1", 10_000, started);
    await onVictim.waitFor((m) => m.type === "ai_response_delta", 10_000, started);
    victim.kill("SIGKILL");
    expect((await victim.exited).signal).toBe("SIGKILL");
    servers.splice(servers.indexOf(victim), 1);

    // The web app reconnects to whatever the balancer gives it: another instance.
    const again = await connect(servers[1]!, s.token);
    const conversationId = ack.conversation_id as string;
    const got = await again.request({ type: "get_conversation", conversation_id: conversationId }, "conversation_data");
    const messages = (got.conversation as { messages: { id: string; type: string; content: string }[] }).messages;
    const ackMessage = ack.message as { id: string; content: string };
    expect(messages[0]).toMatchObject({ id: ackMessage.id, type: "user", content: "Explain recursion" });
    // The answer being written when the instance died is absent (never stored half) — PostgreSQL
    // commits it whole or not at all; the app shows the question without an answer.
    const answers = messages.filter((m) => m.type === "ai");
    for (const a of answers) expect(a.content.length).toBeGreaterThan(0);
    expect(answers.length).toBe(0);
    // And the student can ask again on the surviving instance.
    fake.reset();
    fake.setDefault(FAST_MODEL, behave.reply("YES"));
    fake.setDefault(MAIN_MODEL, behave.reply("Recursion, again."));
    const retry = await again.request({ type: "text_input", text: "Explain recursion", conversation_id: conversationId }, "ai_response", 15_000);
    expect(retry.text).toBe("Recursion, again.");
    // The rows say the same to anyone reading the database.
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      const rows = await c.query("select type, content from messages where conversation_id = $1 order by created_at, id", [conversationId]);
      expect(rows.rows.map((r: { type: string }) => r.type)).toEqual(["user", "user", "ai"]);
    } finally {
      await c.end();
    }
  }, 60_000);

  it("the production bundle (node apps/server/dist/main.js, no npm) joins the others and exits 0 after draining on SIGTERM", async () => {
    const build = spawnSync(process.execPath, ["--input-type=module", "-e", `await (await import(${JSON.stringify(pathToFileURL(join(root, "scripts/build.mjs")).href)})).buildServer()`], {
      encoding: "utf8",
    });
    expect(build.status, build.stderr).toBe(0);
    const bundle = await startServerProcess({ entry: join(root, "apps/server/dist/main.js"), cwd: root, name: "server-bundle", env });
    const s = await register(servers[0]!);
    const [onBundle, onA] = [await connect(bundle, s.token), await connect(servers[0]!, s.token)];
    fake.script(MAIN_MODEL, behave.reply("Draining lets this answer finish before the process exits.", { chunkDelayMs: 150 }));
    onBundle.send({ type: "text_input", text: "What does draining mean?", teaching_mode: "qa", request_id: "d1" });
    await onBundle.waitFor((m) => m.type === "ai_response_delta" && m.request_id === "d1", 10_000);
    const exit = bundle.stop(20_000);
    const answer = await onBundle.waitFor((m) => m.type === "ai_response" && m.request_id === "d1", 15_000);
    expect(answer.text).toBe("Draining lets this answer finish before the process exits.");
    expect(await exit).toEqual({ code: 0, signal: null });
    // The finished answer was announced to the student's tab on another instance, and stored.
    await onA.waitFor((m) => m.type === "conversation_updated" && (m.conversation as { id: string }).id === answer.conversation_id, SEEN_WITHIN_MS);
    const got = await onA.request({ type: "get_conversation", conversation_id: answer.conversation_id }, "conversation_data");
    expect((got.conversation as { messages: { type: string }[] }).messages.map((m) => m.type)).toEqual(["user", "ai"]);
  }, 60_000);
});
