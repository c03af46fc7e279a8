"""Keep what `laura dev` starts owned by it, even when it is killed with `kill -9`.

On `kill -9`, a crash or a closed terminal none of our clean-up code runs, so both guards here
lean on the kernel instead:

- `python -m laura_bot.dev.guard <parent-pid> -- <command…>` asks Linux to send the child SIGTERM
  when its parent dies (prctl PR_SET_PDEATHSIG) and then execs the command; the setting survives
  exec, so Synapse itself carries it. A separate launcher rather than Popen's `preexec_fn`,
  which is unsafe in a process with threads (aiohttp's resolver, asyncio's executor). Linux
  sends the signal when the *thread* that started the child ends, so start it from the thread
  that lives as long as the owner (the event loop's thread). Where there is no prctl (macOS,
  the BSDs) the launcher only execs; the pid file the Synapse wrapper keeps then lets the next
  start stop what a crashed run left behind (see synapse.py).
- `hold_lock()` takes an exclusive flock. The kernel drops it when its holder dies, however it
  dies, so a crash never leaves a stale lock that a person has to delete.
"""

from __future__ import annotations

import ctypes
import fcntl
import os
import signal
import sys
from pathlib import Path
from typing import TextIO

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>

# Test-only: skip the death signal, so a test can leave a Synapse behind the way a crashed run
# on a system without prctl does, and check that the next start stops it.
NO_DEATH_SIGNAL_ENV = "LAURA_DEV_NO_DEATH_SIGNAL"


class DevError(Exception):
    """A `laura dev` start-up failure; the CLI prints it in one line and exits with code 3."""


class LockHeld(DevError):
    def __init__(self, path: Path, holder: int | None) -> None:
        super().__init__(f"{path} is locked by {f'pid {holder}' if holder else 'another process'}")
        self.path = path
        self.holder = holder


def guarded(command: list[str]) -> list[str]:
    """`command` wrapped in the launcher, so it ends when this process ends."""
    return [sys.executable, "-m", "laura_bot.dev.guard", str(os.getpid()), "--", *command]


def set_death_signal(sig: int) -> bool:
    """Have the kernel send `sig` to this process when its parent dies; False where it can't."""
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"prctl(PR_SET_PDEATHSIG): {os.strerror(err)}")
    return True


def hold_lock(path: Path) -> TextIO:
    """Lock `path` exclusively for as long as the returned file stays open (keep a reference:
    closing it, or the process ending, releases the lock). The file holds the holder's pid so a
    refused caller can say who holds it; it is never deleted, because deleting a lock file lets
    two processes lock two different files."""
    f = path.open("a+")
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        f.seek(0)
        text = f.read().strip()
        f.close()
        # Empty when the holder has locked but not yet written its pid.
        raise LockHeld(path, int(text) if text.isdigit() else None) from None
    f.truncate(0)
    f.write(f"{os.getpid()}\n")
    f.flush()
    return f


def main(argv: list[str]) -> int:
    if len(argv) < 3 or not argv[0].isdigit() or argv[1] != "--":
        print("usage: python -m laura_bot.dev.guard <parent-pid> -- <command…>", file=sys.stderr)
        return 2
    parent, command = int(argv[0]), argv[2:]
    if not os.environ.get(NO_DEATH_SIGNAL_ENV):
        set_death_signal(signal.SIGTERM)
    # The parent may have died between our fork and the prctl above; then no signal will come.
    if os.getppid() != parent:
        print(f"guard: parent {parent} is gone; not starting {command[0]}", file=sys.stderr)
        return 1
    os.execvp(command[0], command)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
