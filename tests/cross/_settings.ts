// What tests/cross/_child.ts sets, and tests/cross_test.ts reads back from outside: each distinct, so that a value
// read tells which call made it.
export const CHOSEN = { idleMs: 7000, intervalMs: 3000, count: 4, userTimeoutMs: 20_000 };
export const LISTENER = { idleMs: 6000, intervalMs: 2000, count: 5 };
export const SWEPT = { idleMs: 11_000, intervalMs: 4000, count: 6 };
export const OTHER_PROCESS = { idleMs: 13_000, count: 3 };
