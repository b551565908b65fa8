/**
 * Numbers as the console report, progress display and dataset card show them. One place, so a
 * duration or a size reads the same everywhere.
 */

function checkFinite(what: string, value: number): void {
  if (!Number.isFinite(value) || value < 0) {
    throw new RangeError(`${what} must be a finite number >= 0, got ${value}`);
  }
}

/** `H:MM:SS` like Python's str(timedelta) of whole seconds (the original's format); hours grow past 24. */
export function formatClock(seconds: number): string {
  checkFinite('duration in seconds', seconds);
  const whole = Math.floor(seconds);
  const hours = Math.floor(whole / 3600);
  const minutes = Math.floor((whole % 3600) / 60);
  const secs = whole % 60;
  return `${hours}:${String(minutes).padStart(2, '0')}:${String(secs).padStart(2, '0')}`;
}

/** `0:00:45 (45.23s)`: the clock for humans, the exact seconds for comparing runs. */
export function formatDuration(seconds: number): string {
  checkFinite('duration in seconds', seconds);
  return `${formatClock(seconds)} (${seconds.toFixed(2)}s)`;
}

const BYTE_UNITS = ['kB', 'MB', 'GB', 'TB', 'PB'];

/** Decimal units (1 MB = 10^6 bytes), as GCS and disk vendors count, e.g. `117.7 MB`. */
export function formatBytes(bytes: number): string {
  checkFinite('byte count', bytes);
  if (bytes < 1000) return `${bytes} B`;
  let value = bytes;
  let unit = 'B';
  for (const next of BYTE_UNITS) {
    // 999.95 would print as "1000.0": move to the next unit instead.
    if (value < 999.95) break;
    value /= 1000;
    unit = next;
  }
  return `${value.toFixed(1)} ${unit}`;
}
