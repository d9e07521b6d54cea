"""Reading a stream as it grows: line numbers, line ends, a followed file, long lines."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from spikeattr.data.line_source import read_line_blocks
from spikeattr.errors import DataFormatError


def _all_lines(blocks: object) -> list[tuple[int, bytes]]:
    return [(first + i, line) for first, lines in blocks for i, line in enumerate(lines)]  # type: ignore[attr-defined]


def test_reader_keeps_numbers_and_ends(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes(b"a,b\r\n1,0\r\n\r\n0,1")  # CRLF, a blank line, no final line end
    read = _all_lines(read_line_blocks(path, block_bytes=3))
    assert read == [(1, b"a,b"), (2, b"1,0"), (3, b""), (4, b"0,1")]
    (tmp_path / "long.csv").write_bytes(b"x" * (2 << 20))
    with pytest.raises(DataFormatError, match="line 1: longer than"):
        _all_lines(read_line_blocks(tmp_path / "long.csv"))
    with pytest.raises(DataFormatError, match="cannot open the input"):
        _all_lines(read_line_blocks(tmp_path / "missing.csv"))


def test_follow_reads_what_a_writer_appends(tmp_path: Path) -> None:
    path = tmp_path / "live.csv"
    path.write_text("")
    expected = [f"{i},1".encode() for i in range(300)]

    def writer() -> None:
        with open(path, "ab") as handle:
            for start in range(0, 300, 50):
                for line in expected[start : start + 50]:
                    handle.write(line[:2])  # half a line first: the reader must hold it
                    handle.flush()
                    handle.write(line[2:] + b"\n")
                handle.flush()
                time.sleep(0.02)

    thread = threading.Thread(target=writer)
    thread.start()
    got: list[bytes] = []
    deadline = time.monotonic() + 30
    blocks = read_line_blocks(path, follow=True, poll_seconds=0.01)
    for _, lines in blocks:
        got += lines
        if len(got) >= 300 or time.monotonic() > deadline:
            break
    blocks.close()  # the reader stops when its consumer does (e.g. --max-steps)
    thread.join()
    assert got == expected
