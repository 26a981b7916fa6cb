"""How every bench that starts things of its own ends: within `--limit` seconds, on SIGTERM or Ctrl-C,
always through its `finally`, which removes what it made."""
from __future__ import annotations

import signal
import sys
from collections.abc import Callable


def stop_after(limit: float) -> None:
    """SIGTERM and, after `limit` seconds, the alarm raise in the main thread, so the bench unwinds through
    its `finally` and everything it made is removed (cancel with `signal.alarm(0)`)."""

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    def too_long(signum: int, frame: object) -> None:
        raise TimeoutError(f"bench exceeded --limit {limit:g} s")

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGALRM, too_long)
    signal.alarm(int(limit))


def run(main: Callable[[], object]) -> None:
    """Run a bench's `main`; stopped (signal, Ctrl-C, `--limit`), it says so and exits 1."""
    try:
        main()
    except (KeyboardInterrupt, TimeoutError) as stopped:
        print(f"stopped: {stopped or 'interrupted'}; everything the bench made is removed", file=sys.stderr)
        raise SystemExit(1) from None
