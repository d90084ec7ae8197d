export * from "./limiter.js";
export * from "./policy.js";
export * from "./semaphore.js";
