// What other apps reuse of the server's wiring: the LiveKit agent builds the
// same context (store, models, auth, turns) from the same configuration.
export { ConfigError, DEFAULTS, loadConfig, readEnv, type Config } from "./config.js";
export { closeContext, createContext, sessionDeps, type AppContext } from "./context.js";
export { createLogger } from "./logger.js";
export * from "./livekit.js";
