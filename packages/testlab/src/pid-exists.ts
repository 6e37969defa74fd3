/** Whether a process `pid` exists (a zombie not yet reaped counts): signal 0, ESRCH = gone, EPERM = someone else's. */
export function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ESRCH') return false;
    if (code === 'EPERM') return true;
    throw err;
  }
}
