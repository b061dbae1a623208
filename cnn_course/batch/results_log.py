"""The grading process's results log: records signed with the run's key, and read back keeping only those."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def sign(key: bytes, sequence: int, payload: str) -> str:
    """The tag of record number `sequence` (its JSON text `payload`) under the run's key."""
    return hmac.new(key, f"{sequence}\n{payload}".encode(), hashlib.sha256).hexdigest()


@dataclass
class ResultsLog:
    """What the grading process reported: collected tests, results by test id, the test running when it stopped."""

    collected: list[dict[str, Any]] | None = None
    results: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    running: str | None = None
    finished: bool = False
    foreign_lines: int = 0


def read_results_log(path: Path, key: bytes) -> ResultsLog:
    """Parse the collector's log, keeping only records signed with `key` in sequence; count the other lines."""
    log = ResultsLog()
    running: dict[str, Any] | None = None
    expected = 0
    raw = path.read_bytes() if path.is_file() else b""
    lines = raw.split(b"\n")
    for number, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            envelope = json.loads(line)
            payload, tag, sequence = envelope["record"], envelope["tag"], envelope["seq"]
            valid = sequence == expected and hmac.compare_digest(str(tag), sign(key, sequence, payload))
            record = json.loads(payload) if valid else None
        except (ValueError, KeyError, TypeError):
            valid, record = False, None
        if not valid or not isinstance(record, dict):
            if number < len(lines) - 1 or raw.endswith(b"\n"):  # the last line of a killed process may be cut short
                log.foreign_lines += 1
            continue
        expected += 1
        if record["event"] == "collected":
            log.collected = record["tests"]
        elif record["event"] == "start":
            running = record
        elif record["event"] == "result":
            log.results.setdefault(record["test"], []).append(record)
            if running is not None and running["test"] == record["test"]:
                running = None
        elif record["event"] == "finished":
            log.finished = True
    log.running = running and running["exercise"]
    return log
