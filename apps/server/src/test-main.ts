// Test entry for real server processes: main.ts, plus the Config fields that
// are not environment variables (a short running-turn lease, say), given as
// JSON in TUTOR_TEST_CONFIG and merged one level deep. Never deployed: the
// bundle is built from main.ts.
import type { Config } from "./config.js";
import { main } from "./main.js";

const raw = process.env.TUTOR_TEST_CONFIG;
const overrides = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};

void main((config) => {
  const out: Record<string, unknown> = { ...config };
  for (const [key, value] of Object.entries(overrides)) {
    const base = out[key];
    out[key] = base && typeof base === "object" && value && typeof value === "object" && !Array.isArray(value) ? { ...base, ...value } : value;
  }
  return out as unknown as Config;
});
