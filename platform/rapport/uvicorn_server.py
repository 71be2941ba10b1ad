"""uvicorn's server as ``rapport serve`` runs it: a stop on request ends it like any other end.

uvicorn re-raises SIGINT or SIGTERM once it has shut down, so the exit status would depend on
what the parent process left the signal set to: 130 from a terminal, 0 in a background job
(which starts with SIGINT ignored), "killed by SIGTERM" under a supervisor or ``docker stop``.
Stopping is how a server ends, so after a clean shutdown on either signal Rapport returns
normally and ``rapport serve`` exits 0, wherever it runs.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

import uvicorn

__all__ = ["Server"]

_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # As uvicorn's own, without re-raising the captured signal on the way out.
        if threading.current_thread() is not threading.main_thread():
            yield  # signal handlers can only be set from the main thread
            return
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in _STOP_SIGNALS}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
