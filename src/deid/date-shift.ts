/**
 * Moves dates by whole days, in UTC, so that the interval between two dates of a patient stays
 * what it was. Times are left alone: a shift of whole days does not change them.
 */

const DAY_MS = 86_400_000;

/** The date `days` after year-month-day (1-based month), or undefined for no such date. */
export function shiftYmd(
  year: number,
  month: number,
  day: number,
  days: number,
): { year: number; month: number; day: number } | undefined {
  const time = Date.UTC(year, month - 1, day);
  const date = new Date(time);
  // Date.UTC rolls 31 February over to March: that is not a date.
  if (
    date.getUTCFullYear() !== year ||
    date.getUTCMonth() !== month - 1 ||
    date.getUTCDate() !== day
  ) {
    return undefined;
  }
  const moved = new Date(time + days * DAY_MS);
  return { year: moved.getUTCFullYear(), month: moved.getUTCMonth() + 1, day: moved.getUTCDate() };
}

const pad = (value: number, width: number) => String(value).padStart(width, '0');

/** A DA value (YYYYMMDD, or a range YYYYMMDD-YYYYMMDD) shifted; '' when it is not a date. */
export function shiftDa(value: string, days: number): string {
  const shiftOne = (text: string): string | undefined => {
    if (text === '') return '';
    const match = /^(\d{4})(\d{2})(\d{2})$/.exec(text);
    if (match === null) return undefined;
    const moved = shiftYmd(Number(match[1]), Number(match[2]), Number(match[3]), days);
    return moved === undefined
      ? undefined
      : `${pad(moved.year, 4)}${pad(moved.month, 2)}${pad(moved.day, 2)}`;
  };
  const parts = value
    .trim()
    .split('-')
    .map((part) => shiftOne(part.trim()));
  return parts.some((part) => part === undefined) ? '' : parts.join('-');
}

/**
 * A DT value shifted: its date part moves, the time and offset stay. A DT of a year or a month
 * only cannot be moved by days and is emptied, like anything that is not a DT.
 */
export function shiftDt(value: string, days: number): string {
  const match = /^(\d{8})(.*)$/.exec(value.trim());
  if (match === null) return '';
  const date = shiftDa(match[1] ?? '', days);
  return date === '' ? '' : `${date}${match[2] ?? ''}`;
}
