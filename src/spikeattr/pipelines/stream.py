"""Explain a live stream end to end: lines of text -> steps -> online explanations -> a sink.

The loop behind ``spikeattr stream``: blocks of lines come from
:func:`~spikeattr.data.stream_input.read_line_blocks` (a file, a followed file or a pipe), the
:class:`~spikeattr.data.stream_input.StreamParser` turns them into steps, the
:class:`~spikeattr.explain.online.OnlineExplainer` explains each step in chunks of at most
``chunk_steps`` (so a long quiet spell or a backlog never holds more than one chunk of maps),
and every explained chunk goes to ``emit`` (records on standard output, or the live view).
Steps are explained as soon as their lines are read: what arrives in a pipe is explained when
it arrives.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from spikeattr.data.stream_input import StreamInputError, StreamParser
from spikeattr.data.stream_steps import StepBatch
from spikeattr.explain.exact_online import ExactOnlineExplainer
from spikeattr.explain.online import Maps, OnlineChunk, OnlineExplainer

Emit = Callable[[OnlineChunk, "np.ndarray | None", "int | None"], object]
"""``emit(chunk, times, previous)``: ``times`` the clock offsets of the chunk's steps (or
``None``), ``previous`` the class predicted just before the chunk (``None`` at the start)."""


@dataclass
class StreamSummary:
    """What a stream run did.

    Attributes:
        steps: steps explained.
        changes: steps where the prediction changed (the first one included).
        skipped_lines: lines reported and skipped (``on_error="skip"``).
        reached_max_steps: the run stopped at ``max_steps`` rather than at the input's end.
    """

    steps: int = 0
    changes: int = 0
    skipped_lines: int = 0
    reached_max_steps: bool = False


def run_stream(
    explainer: OnlineExplainer | ExactOnlineExplainer,
    blocks: Iterable[tuple[int, list[bytes]]],
    parser: StreamParser,
    emit: Emit,
    warn: Callable[[StreamInputError], object],
    max_steps: int | None = None,
    chunk_steps: int = 1024,
    maps: Maps = "predicted",
) -> StreamSummary:
    """Explain every step of the input as it arrives and hand each chunk to ``emit``.

    Args:
        blocks: ``(first line number, lines)`` as the input grows.
        warn: called with each skipped problem (``on_error="skip"``).
        max_steps: stop after this many steps (``None``: at the end of the input).
        chunk_steps: most steps explained per call of the explainer.
        maps: what the explainer keeps per step (see :meth:`OnlineExplainer.feed`).

    Raises:
        StreamInputError: a line breaks the format and the policy is ``"stop"`` (the steps
            before it have been emitted).
    """
    summary = StreamSummary()
    previous: list[int | None] = [None]

    def explain(batch: StepBatch) -> bool:
        """Explain ``batch``; True once ``max_steps`` is reached."""
        for spikes, times in batch.pieces(chunk_steps):
            if max_steps is not None:
                left = max_steps - summary.steps
                spikes = spikes[:left]
                times = None if times is None else times[:left]
            chunk = explainer.feed(spikes, maps=maps)
            emit(chunk, times, previous[0])
            summary.steps += len(chunk)
            summary.changes += len(chunk.changes)
            if len(chunk):
                previous[0] = int(chunk.predicted[-1])
            if max_steps is not None and summary.steps >= max_steps:
                summary.reached_max_steps = True
                return True
        return False

    if max_steps is not None and max_steps <= 0:
        summary.reached_max_steps = True
        return summary
    iterator = iter(blocks)
    try:
        for first, lines in iterator:
            batch, problems = parser.parse(lines, first)
            for problem in problems:
                if problem is not parser.failed:
                    summary.skipped_lines += 1
                    warn(problem)
            if explain(batch):
                return summary
            if parser.failed is not None:
                raise parser.failed
        explain(parser.finish())
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:
            close()
    return summary
