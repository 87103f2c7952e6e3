/**
 * How a value the caller passed is named in an error: its type shows, so that
 * `"22"`, `22n` and `22` never read alike.
 *
 * @module
 */

/**
 * Names a value for an error message.
 *
 * @param value Anything.
 * @returns `"22"` for a string, `22n` for a bigint, `an array`, `a Map`, `an object`, or the value itself.
 */
export function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "function") return "a function";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object" && value !== null) {
    const name = Object.getPrototypeOf(value)?.constructor?.name;
    return name && name !== "Object" ? `a ${name}` : "an object";
  }
  return String(value);
}

/**
 * Whether a value is an object literal (or made with `Object.create(null)`), not an array, a Map or a class instance.
 *
 * @param value Anything.
 * @returns Whether its prototype is `Object.prototype` or `null`.
 */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}
