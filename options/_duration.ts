/**
 * Durations as people type them (`1500ms`, `10s`, `2m`, `1h`), for the
 * command line's flags and the `TCP_KEEPALIVE` variable alike.
 *
 * @module
 */

const MS_PER_UNIT = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/** The form a duration takes, for errors. */
export const DURATION_FORM = "a duration such as 1500ms, 10s, 2m or 1h";

/**
 * Parses `1500ms`, `10s`, `2m`, `1h`, `0.5s`.
 *
 * @param text What was typed.
 * @returns Milliseconds, or `undefined` if it is not a duration with a unit.
 */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text);
  return match ? Number(match[1]) * MS_PER_UNIT[match[2] as keyof typeof MS_PER_UNIT] : undefined;
}

/**
 * A hint for a number typed without its unit.
 *
 * @param text What was typed.
 * @returns ` (a unit is needed: 30s or 30ms)` for a bare number, else nothing.
 */
export function unitHint(text: string): string {
  return /^\d+(\.\d+)?$/.test(text) ? ` (a unit is needed: ${text}s or ${text}ms)` : "";
}

/**
 * Writes milliseconds as they are typed, in the largest unit that holds them exactly: `1h`, `10m`, `11s`, `1500ms`.
 *
 * @param ms Milliseconds.
 * @returns The text, which {@linkcode parseDuration} reads back as `ms`.
 */
export function durationText(ms: number): string {
  if (ms === 0) return "0s";
  const unit = (["h", "m", "s"] as const).find((unit) => Number.isInteger(ms / MS_PER_UNIT[unit])) ?? "ms";
  return `${ms / MS_PER_UNIT[unit]}${unit}`;
}
