/**
 * UTC times from calendar fields, for every year as written: `Date.UTC` reads the years 0–99 as
 * 1900–1999, which turned a damaged header's year 24 (SAC) or a manifest's `0000-01-01` into
 * dates of the twentieth century.
 *
 * @module
 */

/**
 * Whether a year of the proleptic Gregorian calendar (as JavaScript's Date counts them) is a
 * leap year.
 *
 * @param year The year.
 * @returns true for a leap year.
 * @example
 * ```ts
 * import { isLeapYear } from "./utc.ts";
 * if (!isLeapYear(2024) || isLeapYear(1900) || !isLeapYear(2000) || !isLeapYear(0)) {
 *   throw new Error();
 * }
 * ```
 */
export function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

/**
 * The start of the year 10000, ms since 1970 UTC: a time from then on has no ISO 8601 text with
 * a four-digit year, as samples.csv writes reference times, so every input refuses it.
 */
export const YEAR_10000 = Date.UTC(10000, 0, 1);

/**
 * Milliseconds since 1970-01-01T00:00:00Z of a UTC calendar time, as `Date.UTC` gives them but
 * for every year as written (fields past their range roll over, as in `Date.UTC`).
 *
 * @param year The year (24 is the year 24, not 1924).
 * @param month0 The month, 0 for January.
 * @param day The day of the month (day n of January is day of year n).
 * @param hour The hour.
 * @param minute The minute.
 * @param second The second.
 * @returns the time in ms (NaN outside Date's range).
 * @example
 * ```ts
 * import { utcTime } from "./utc.ts";
 * if (utcTime(2024, 1, 29, 12) !== Date.UTC(2024, 1, 29, 12)) throw new Error();
 * if (new Date(utcTime(24, 0, 1)).getUTCFullYear() !== 24) throw new Error();
 * ```
 */
export function utcTime(
  year: number,
  month0: number,
  day: number,
  hour = 0,
  minute = 0,
  second = 0,
): number {
  const d = new Date(0);
  d.setUTCFullYear(year, month0, day);
  return d.setUTCHours(hour, minute, second);
}
