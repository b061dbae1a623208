"""Text for the learner's console, whatever it can show.

A Windows console or a redirected output often encodes with a legacy code page (cp1252, cp437),
in which "✔" and "✘" do not exist; printing them there raises UnicodeEncodeError. `printable`
keeps the symbols where the stream can encode them and writes plain ASCII words elsewhere.
"""

from __future__ import annotations

import sys
from typing import TextIO

_FALLBACKS = {"✔": "OK", "✘": "X", "…": "...", "→": "->", "—": "-"}


def printable(text: str, stream: TextIO | None = None) -> str:
    """Return `text` as `stream` (default: sys.stdout) can encode it: symbols it lacks become ASCII.

    Args:
        text: the text to print.
        stream: the text stream it goes to; its ``encoding`` decides (none given: UTF-8).
    """
    encoding = getattr(stream if stream is not None else sys.stdout, "encoding", None) or "utf-8"
    try:
        text.encode(encoding)
        return text
    except (UnicodeEncodeError, LookupError):
        pass
    for symbol, fallback in _FALLBACKS.items():
        text = text.replace(symbol, fallback)
    return (
        text.encode(encoding, errors="replace").decode(encoding)
        if _known(encoding)
        else text.encode("ascii", "replace").decode()
    )


def _known(encoding: str) -> bool:
    try:
        "".encode(encoding)
    except LookupError:
        return False
    return True
