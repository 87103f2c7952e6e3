/**
 * `TCP_KEEPALIVE`, written as the command line's flags are: `30s` (a deadline,
 * planned), or `idle=10s,interval=2s,count=3,user-timeout=30s`, either with
 * `every=500ms` for the sweeps' period.
 *
 * @module
 */
import { DURATION_FORM, parseDuration, unitHint } from "./_duration.ts";
import type { KeepaliveOptions } from "./_types.ts";

/** Options and the sweeps' period, as `TCP_KEEPALIVE` gives them. */
export interface KeepaliveSpec {
  options: KeepaliveOptions;
  everyMs: number | undefined;
}

const DURATION_KEYS: Readonly<Record<string, keyof KeepaliveOptions | "everyMs">> = {
  timeout: "timeoutMs",
  idle: "idleMs",
  interval: "intervalMs",
  "user-timeout": "userTimeoutMs",
  every: "everyMs",
};
const KEYS = [...Object.keys(DURATION_KEYS), "count"];

/**
 * Parses the variable's text.
 *
 * @param name The variable, for errors.
 * @param text Its value.
 * @returns The options and period.
 * @throws {TypeError} Naming the variable and the part that is wrong.
 */
export function parseSpec(name: string, text: string): KeepaliveSpec {
  const wrong = (part: string, why: string) =>
    new TypeError(`${name}=${JSON.stringify(text)}: ${JSON.stringify(part)} ${why}`);
  const spec: KeepaliveSpec = { options: {}, everyMs: undefined };
  const parts = text.split(",").map((part) => part.trim());
  for (const part of parts) {
    const [key, value, extra] = part.includes("=") ? part.split("=") : ["timeout", part];
    if (extra !== undefined) throw wrong(part, "has more than one =");
    if (!KEYS.includes(key)) throw wrong(part, `is not one of ${KEYS.map((k) => `${k}=`).join(", ")} or a deadline`);
    if (key === "count") {
      if (!/^\d+$/.test(value)) throw wrong(part, "takes a whole number");
      spec.options.count = Number(value);
      continue;
    }
    const ms = parseDuration(value);
    if (ms === undefined) throw wrong(part, `takes ${DURATION_FORM}${unitHint(value)}`);
    const field = DURATION_KEYS[key];
    if (field === "everyMs") spec.everyMs = ms;
    else spec.options[field] = ms as never;
  }
  return spec;
}
