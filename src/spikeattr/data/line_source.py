"""Read a text stream as it grows: a file, a file still being written (``--follow``), a pipe.

The one reader of ``spikeattr stream``'s input. It yields complete lines in blocks as they
arrive, numbered from 1, so that every later error can name its line.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from spikeattr.errors import DataFormatError

MAX_LINE_BYTES = 1 << 20


def read_line_blocks(
    path: str | os.PathLike[str] | None,
    follow: bool = False,
    poll_seconds: float = 0.05,
    block_bytes: int = 1 << 16,
) -> Iterator[tuple[int, list[bytes]]]:
    """Yield ``(number of the first line, complete lines)`` as the input grows.

    ``path`` ``None`` or ``"-"`` reads standard input, returning whatever has arrived (a pipe
    is explained as it is written). With ``follow`` a file is tailed like ``tail -f``: at its
    end the reader waits ``poll_seconds`` and looks again, forever (stop it by closing the
    generator or with Ctrl-C); a last line without a line end is held until it is complete.
    Without ``follow`` that last line is yielded at the end of the input.

    Raises:
        DataFormatError: the file cannot be opened, or a line is longer than 1 MiB.
    """
    if path is None or str(path) == "-":
        stream: BinaryIO = sys.stdin.buffer
        yield from _blocks(stream, "<stdin>", False, poll_seconds, block_bytes)
        return
    source = Path(path)
    try:
        handle = open(source, "rb")  # closed below, also when the caller stops early
    except OSError as exc:
        raise DataFormatError(f"{source}: cannot open the input: {exc.strerror or exc}") from exc
    try:
        yield from _blocks(handle, str(source), follow, poll_seconds, block_bytes)
    finally:
        handle.close()


def _blocks(
    stream: BinaryIO, name: str, follow: bool, poll_seconds: float, block_bytes: int
) -> Iterator[tuple[int, list[bytes]]]:
    read = getattr(stream, "read1", stream.read)
    pending = b""
    number = 1
    while True:
        data = read(block_bytes)
        if not data:
            if follow:
                time.sleep(poll_seconds)
                continue
            if pending:
                yield number, [pending.rstrip(b"\r")]
            return
        lines = (pending + data).split(b"\n")
        pending = lines.pop()
        if len(pending) > MAX_LINE_BYTES:
            raise DataFormatError(
                f"{name} line {number + len(lines)}: longer than {MAX_LINE_BYTES} bytes without "
                "a line end; is this a stream of text lines?"
            )
        if lines:
            yield number, [line[:-1] if line.endswith(b"\r") else line for line in lines]
            number += len(lines)
