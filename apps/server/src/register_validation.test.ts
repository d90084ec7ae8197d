// A weak password, a bad username or a bad email at registration is a
// validation answer naming the field — `auth_response` with
// `error_type: "validation"` on the WebSocket, 400 with the same error_type on
// REST — so a client can show it next to the field.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, WsClient, type TestServer } from "./test-helpers.js";

let srv: TestServer;
beforeAll(async () => {
  srv = await startTestServer();
});
afterAll(async () => {
  await srv?.close();
});

const CASES = [
  [{ username: "okname1", password: "short" }, /password/],
  [{ username: "okname2", password: "p".repeat(300) }, /password/],
  [{ username: "ab", password: "long enough pass" }, /username/],
  [{ username: "bad name!", password: "long enough pass" }, /username/],
  [{ username: "okname3", password: "long enough pass", email: "not-an-email" }, /email/],
] as const;

describe("registration validation", () => {
  it("answers auth_response with error_type validation naming the field over the WebSocket", async () => {
    const ws = await WsClient.connect(srv.wsUrl);
    for (const [fields, field] of CASES) {
      const r = await ws.request({ type: "auth_request", data: { type: "register", ...fields } });
      expect(r).toMatchObject({ type: "auth_response", action: "register", success: false, error_type: "validation" });
      expect(String(r.error)).toMatch(field);
    }
    // The connection is still usable and nothing was created.
    const ok = await ws.request({ type: "auth_request", data: { type: "register", username: "okname1", password: "long enough pass" } });
    expect(ok).toMatchObject({ type: "auth_response", success: true });
    await ws.close();
  });

  it("answers 400 with error_type validation naming the field over REST", async () => {
    for (const [fields, field] of CASES) {
      const res = await fetch(`${srv.url}/api/auth/register`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ ...fields, username: `${fields.username}`.replace("okname", "restname") }),
      });
      expect(res.status).toBe(400);
      const body = (await res.json()) as { error: { code: string; message: string; error_type: string } };
      expect(body.error.error_type).toBe("validation");
      expect(body.error.message).toMatch(field);
    }
  });
});
