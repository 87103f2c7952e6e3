/**
 * How a caller spells fields and values, so that every refusal speaks as the
 * caller wrote: the API's option names and milliseconds, or a text form's
 * flags (`--idle`) or keys (`idle=`) and durations (`30s`).
 *
 * @module
 */
import { describe } from "./_describe.ts";
import { durationText } from "./_duration.ts";
import type { KeepaliveOptions, SweepOptions } from "../types/mod.ts";

/** Everything a caller can get wrong, by its API name. */
export type Field =
  | keyof KeepaliveOptions
  | "probes"
  | keyof SweepOptions
  | "pid"
  | "path"
  | "owner"
  | "os"
  | "netns"
  | "overMs";

/** How a caller spells fields and values. */
export interface Terms {
  /** The caller's name for a field (`--idle`, `idle`); the API's name where absent. */
  readonly names: Readonly<Partial<Record<Field, string>>>;
  /** What the caller typed for a field, quoted back as it was typed. */
  readonly typed: Readonly<Partial<Record<Field, string>>>;
  /** What a time is to the caller: `"a number"` (of milliseconds) or `"a duration"`. */
  readonly time: string;
  /** What a time in whole milliseconds is to the caller: `"an integer"`, or a duration so said. */
  readonly wholeMs: string;
  /** What a deadline is to the caller, where NaN and Infinity are numbers too: `"a finite number"`, or a duration. */
  readonly finiteTime: string;
  /** A time in the caller's units: `1500`, or `1500ms`. */
  duration(ms: number): string;
  /** What a share in percent is to the caller: `"a number"`, or `"a percentage"`. */
  readonly percent: string;
  /** A share in the caller's units: `0.5`, or `0.5%`. */
  percentOf(percent: number): string;
}

/** The API's terms: its option names, times as numbers of milliseconds. */
export const API_TERMS: Terms = {
  names: {},
  typed: {},
  time: "a number",
  wholeMs: "an integer",
  finiteTime: "a finite number",
  duration: String,
  percent: "a number",
  percentOf: String,
};

/**
 * The terms of a text form: its names for the fields, durations with units.
 *
 * @param names The text form's name for each field it has.
 * @param typed What was typed for each field.
 * @returns The terms.
 */
export function textTerms(
  names: Readonly<Partial<Record<Field, string>>>,
  typed: Readonly<Partial<Record<Field, string>>>,
): Terms {
  return {
    names,
    typed,
    time: "a duration",
    wholeMs: "a duration, in whole milliseconds,",
    finiteTime: "a duration",
    duration: durationText,
    percent: "a percentage",
    percentOf: (percent) => `${percent}%`,
  };
}

/** The caller's name for a field. */
export const nameOf = (terms: Terms, field: Field): string => terms.names[field] ?? field;

/** What the caller gave for a field, as the caller gave it: typed text, a time in its units, or the value. */
export const given = (terms: Terms, field: Field, value: unknown, isTime: boolean): string =>
  terms.typed[field] ?? (isTime && typeof value === "number" ? terms.duration(value) : describe(value));
