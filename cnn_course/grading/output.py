"""What a learner process prints: drained as it comes, its head kept for the feedback."""

from __future__ import annotations

import os
import select
import threading
import time
from typing import Any

OUTPUT_HEAD_BYTES = 2000


class OutputHead:
    """Drains a learner process's stdout/stderr, keeping the first bytes since the last mark and a count."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self._lock = threading.Lock()
        self._head = bytearray()
        self._total = 0
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._drain, args=(stream.fileno(),), daemon=True)
        self._thread.start()

    def _drain(self, fd: int) -> None:
        # On POSIX, select with a timeout rather than a blocking read: a detached child of the learner
        # can hold the pipe open for ever, and `stop` must end this thread all the same. Windows cannot
        # select on a pipe: there the (daemon) thread blocks in read and is left behind by `stop`.
        waits = os.name == "posix"
        try:
            while not self._stopped.is_set():
                if waits and not select.select([fd], [], [], 0.2)[0]:
                    continue
                chunk = os.read(fd, 65536)
                if not chunk:
                    return
                with self._lock:
                    room = OUTPUT_HEAD_BYTES - len(self._head)
                    if room > 0:
                        self._head += chunk[:room]
                    self._total += len(chunk)
        except (OSError, ValueError):  # the stream was closed under us: the process is gone
            return

    def stop(self) -> None:
        """Stop draining (within 0.2 s on POSIX, even while a detached child still holds the pipe open)."""
        self._stopped.set()
        self._thread.join(timeout=1.0)

    def mark(self) -> None:
        """Forget what was printed so far."""
        with self._lock:
            self._head.clear()
            self._total = 0

    def since_mark(self) -> str:
        """Return what was printed since the last mark: its head, with a note when it was cut."""
        time.sleep(0.02)  # the learner flushes before it replies; let the drain thread read that last chunk
        with self._lock:
            text = self._head.decode(errors="replace").rstrip()
            total = self._total
        if total > len(self._head):
            text += f"\n[... output cut: {total:,} bytes printed in all, the first {OUTPUT_HEAD_BYTES:,} shown]"
        return text
