"""Stopping a long run between steps, so that the checkpoint it leaves loses no work.

Ctrl-C (SIGINT) or ``kill`` (SIGTERM) in the middle of a training step would leave the last
periodic checkpoint as the place to resume from, and the steps since then to redo. Inside
:class:`StopBetweenSteps` the first such signal only asks the loop to stop: the loop finishes the
step it is in, writes its checkpoint and raises :class:`KeyboardInterrupt` itself. A second signal
stops at once, as if the block were not there (the last checkpoint is intact: checkpoints are
written atomically).
"""
from __future__ import annotations

import logging
import signal
import threading

log = logging.getLogger(__name__)

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopBetweenSteps:
    """Context manager: ``requested`` turns true at the first SIGINT or SIGTERM.

    Handlers can only be installed from the main thread; elsewhere (a notebook's worker thread)
    the block changes nothing and the signals keep their usual effect. The previous handlers are
    restored on leaving the block.
    """

    def __init__(self, what: str = "training"):
        self.what = what
        self.requested = False
        self._previous: dict = {}

    def __enter__(self) -> StopBetweenSteps:
        if threading.current_thread() is threading.main_thread():
            for sig in _SIGNALS:
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        log.warning("%s: %s stops after this step and writes its checkpoint (send it again to stop at once)",
                    signal.Signals(signum).name, self.what)

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()
