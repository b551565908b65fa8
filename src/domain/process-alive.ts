/**
 * Whether process `pid` still runs on this machine: the test behind every "left by a dead
 * process" decision (stale locks, abandoned temp files).
 */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to another user; it still counts as alive.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
