"""The records of a live explanation (``spikeattr stream``): one per step, JSON lines or CSV.

A record says, for one explained step: ``step`` (its index in the stream, from 0), ``time``
(its clock time when the input carries times: an ISO date-time string, or a number of seconds;
else ``null`` / empty), ``predicted`` (the class name), ``probability`` (of that class) and
``top``: the largest contributions to the predicted class's map by absolute value, each a
``channel``, ``steps_ago`` (0 = the explained step itself) and the signed ``value``; ties are
ranked by channel, then by the older step. Contributions that are exactly 0 are not listed.

With ``on_change`` only steps whose prediction differs from the step before are written (the
first step of the stream included), with ``previous`` (the class predicted the step before, or
``null``) and ``moved``: the largest entries, by absolute value, of the new class's map minus
its map one step earlier (aligned on the same input steps; what moved the prediction).

JSON lines::

    {"step": 7, "time": "2011-11-28T02:28:06", "predicted": "Sleeping", "probability": 0.8712,
     "top": [{"channel": "Bed", "steps_ago": 0, "value": 0.01234}, ...]}

CSV: a header line, then ``step,time,predicted,probability,top1_channel,top1_steps_ago,
top1_value,...`` (and ``previous,moved1_channel,...`` with ``on_change``); missing
contributions are empty cells. Numbers have 9 significant digits (a float32 read back exactly).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Literal

import numpy as np

from spikeattr.data.stream_steps import Clock
from spikeattr.errors import ExplanationError
from spikeattr.explain.online import OnlineChunk
from spikeattr.explain.online_kernels import top_entries

RecordFormat = Literal["jsonl", "csv"]
RECORD_FORMATS: tuple[str, ...] = ("jsonl", "csv")


def top_contributions(maps: np.ndarray, top: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ``top`` largest non-zero entries by absolute value of each map ``[t, n_in, K]``.

    Returns:
        ``(channel, steps_ago, value)``, each ``[t, top]``, largest first; equal magnitudes are
        ranked by channel, then by the older step; unused slots have channel -1.
    """
    steps = maps.shape[0]
    channel = np.empty((steps, top), dtype=np.int64)
    ago = np.empty((steps, top), dtype=np.int64)
    value = np.empty((steps, top), dtype=np.float32)
    top_entries(np.ascontiguousarray(maps, dtype=np.float32), top, channel, ago, value)
    return channel, ago, value


class RecordWriter:
    """Format the explained steps of :class:`~spikeattr.explain.online.OnlineChunk` s as text.

    Args:
        input_names: the model's channel names.
        class_names: the model's class names.
        fmt: ``"jsonl"`` or ``"csv"``.
        top: contributions per record.
        on_change: write only the steps where the prediction changed, with what moved it.
        clock: how the stream's times are written (``None``: the stream has none).
    """

    def __init__(
        self,
        input_names: Sequence[str],
        class_names: Sequence[str],
        fmt: str = "jsonl",
        top: int = 5,
        on_change: bool = False,
        clock: Clock | None = None,
    ) -> None:
        if fmt not in RECORD_FORMATS:
            raise ExplanationError(f"format must be one of {list(RECORD_FORMATS)}; got {fmt!r}")
        if top < 0:
            raise ExplanationError(f"top must be 0 or more contributions; got {top}")
        self.fmt = fmt
        self.top = top
        self.on_change = on_change
        self.clock = clock
        quote = json.dumps if fmt == "jsonl" else _csv_cell
        self._channels = [quote(name) for name in input_names]
        self._classes = [quote(name) for name in class_names]
        self._null = "null" if fmt == "jsonl" else ""

    def header(self) -> str:
        """The CSV header line (empty for JSON lines)."""
        if self.fmt != "csv":
            return ""
        columns = ["step", "time", "predicted", "probability", *self._columns("top")]
        if self.on_change:
            columns += ["previous", *self._columns("moved")]
        return ",".join(columns) + "\n"

    def _columns(self, prefix: str) -> list[str]:
        return [
            f"{prefix}{rank}_{field}"
            for rank in range(1, self.top + 1)
            for field in ("channel", "steps_ago", "value")
        ]

    def records(
        self, chunk: OnlineChunk, times: np.ndarray | None, previous: int | None = None
    ) -> str:
        """The records of ``chunk`` (its changes only, with ``on_change``), one per line.

        Args:
            times: clock offsets ``[t]`` of the chunk's steps, or ``None``.
            previous: the class predicted at the step before the chunk (``None`` at the start).
        """
        if chunk.explanation is None:
            raise ExplanationError("records need the maps: feed with maps='predicted' or 'all'")
        rows = chunk.changes if self.on_change else np.arange(len(chunk))
        if rows.size == 0:
            return ""
        predicted = chunk.predicted.tolist()
        chosen = chunk.predicted[rows]
        probability = chunk.probs[rows, chosen].tolist()
        tops = self._contributions(top_contributions(chunk.explanation[rows], self.top))
        if times is None or self.clock is None:
            stamps = [self._null] * rows.size
        else:
            stamps = self.clock.format_many(times[rows])
            if self.fmt == "jsonl" and self.clock.kind == "iso":
                stamps = [f'"{stamp}"' for stamp in stamps]
        moved: list[str] | None = None
        if self.on_change and chunk.moved is not None:
            moved = self._contributions(top_contributions(chunk.moved, self.top))
        json = self.fmt == "jsonl"
        lines = []
        for n, j in enumerate(rows.tolist()):
            name = self._classes[predicted[j]]
            if json:
                line = (
                    f'{{"step": {chunk.start + j}, "time": {stamps[n]}, "predicted": {name}, '
                    f'"probability": {probability[n]:.9g}, "top": {tops[n]}'
                )
            else:
                line = f"{chunk.start + j},{stamps[n]},{name},{probability[n]:.9g}"
                line += f",{tops[n]}" if self.top else ""
            if moved is not None:
                before = predicted[j - 1] if j > 0 else previous
                was = self._null if before is None else self._classes[before]
                if json:
                    line += f', "previous": {was}, "moved": {moved[n]}'
                else:
                    line += f",{was}" + (f",{moved[n]}" if self.top else "")
            lines.append(line + ("}\n" if json else "\n"))
        return "".join(lines)

    def _contributions(self, entries: tuple[np.ndarray, np.ndarray, np.ndarray]) -> list[str]:
        """Per row, its contributions as a JSON array or as ``3 top`` CSV cells.

        One ``%`` per row on a template for its number of contributions (unused slots have
        channel -1 and come last), the fields interleaved for all rows at once.
        """
        channel, ago, value = entries
        steps = channel.shape[0]
        if self.top == 0:
            return ["[]" if self.fmt == "jsonl" else ""] * steps
        names = np.array([*self._channels, ""], dtype=object)
        fields = np.empty((steps, 3 * self.top), dtype=object)
        fields[:, 0::3] = names[channel]
        fields[:, 1::3] = ago
        fields[:, 2::3] = value.astype(np.float64)
        counts = (channel >= 0).sum(axis=1).tolist()
        templates = self._templates
        return [
            templates[count] % tuple(row[: 3 * count])
            for count, row in zip(counts, fields.tolist(), strict=True)
        ]

    @property
    def _templates(self) -> list[str]:
        """The ``%`` template of a row with ``n`` contributions, for ``n = 0 .. top``."""
        if self.fmt == "jsonl":
            return ["[" + ", ".join([_JSON_ITEM] * n) + "]" for n in range(self.top + 1)]
        return [
            ",".join([_CSV_ITEM] * n + [""] * (3 * (self.top - n)) if n else [""] * 3 * self.top)
            for n in range(self.top + 1)
        ]


_JSON_ITEM = '{"channel": %s, "steps_ago": %d, "value": %.9g}'
_CSV_ITEM = "%s,%d,%.9g"


def _csv_cell(text: str) -> str:
    """``text`` as one CSV cell, quoted only when it needs to be."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow([text])
    return buffer.getvalue()
