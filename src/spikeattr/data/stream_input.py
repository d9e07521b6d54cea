"""The input of a live spike stream (``spikeattr stream``): its two text formats, read as they grow.

A stream is UTF-8 text, one record per line, fields separated by commas (blanks around a field
are ignored; ``\\r\\n`` line ends, blank lines and lines starting with ``#`` are accepted and
skipped). Its first other line is a header, which decides the format:

**Rows** (header: channel names, optionally after a first column ``time``)::

    time,Bias,Bed,Door
    2011-11-28 02:27:59,1,1,0
    2011-11-28 02:28:00,1,1,1

Every further line is one step: ``0`` or ``1`` per channel, and the step's clock time when the
header has a ``time`` column. Channels are matched to the model's inputs by name, in any order;
a model input the header lacks is 0 at every step (so include constant channels such as the
ADL ``Bias``).

**Events** (header exactly ``time,channel,value``)::

    time,channel,value
    2011-11-28 02:27:59,Bias,1
    2011-11-28 02:27:59,Bed,1
    2011-11-28 10:18:12,Bed,0
    2011-11-28 10:18:13,,

Every further line says that at ``time`` the channel turned on (``1``) or off (``0``); a line
with an empty channel is a clock tick (time has reached ``time``, nothing changed). Events are
binned into steps of ``step_seconds``: step ``k`` covers ``[t0 + k dt, t0 + (k + 1) dt)`` with
``t0`` the ``start`` time, by default the first event's. A channel is 1 in a step if it was on
when the step began or turned on during it (a pulse shorter than a step still counts). A step is
complete, and emitted, once a line with a time at or after its end is read; at the end of the
input (not while following a file), the step holding the last line is emitted too unless that
line is an ``off`` or a tick exactly at the step's start. So a UCI ADL sensor row
``[start, end]`` (inclusive seconds) is the events ``start,Location,1`` and
``end + 1 s,Location,0``, and a final tick at the series' end closes its last step.

Times are a number of seconds or an ISO 8601 date-time (``2011-11-28 02:27:59``, ``T`` or a
space, optional fraction and offset), one kind per stream, never going backwards.

The input is read by :func:`~spikeattr.data.line_source.read_line_blocks`; the steps come out
as :class:`~spikeattr.data.stream_steps.StepBatch` es on a
:class:`~spikeattr.data.stream_steps.Clock`.

A line that breaks these rules (wrong number of fields, a value other than 0/1, an unreadable
time, time going backwards, an unknown channel, text that is not UTF-8) is a
:class:`StreamInputError` naming the source, the 1-based line number, the field, the value and
what was expected. With ``on_error="stop"`` the stream ends there (the steps before it are
emitted); with ``"skip"`` the line is reported and ignored (an unknown channel in a rows header
drops that column). A header that repeats a channel or names no model input always stops.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from typing import Literal

import numpy as np

from spikeattr.data.stream_steps import Clock, StepBatch, StepRuns, parse_time
from spikeattr.errors import DataFormatError

OnError = Literal["stop", "skip"]
ON_ERROR_POLICIES: tuple[str, ...] = ("stop", "skip")
EVENT_HEADER: tuple[str, ...] = ("time", "channel", "value")
TIME_COLUMN = "time"
_EPSILON = 1e-9  # of a step: times within this of a step boundary count as on it
_ZERO, _ONE, _COMMA = ord("0"), ord("1"), ord(",")
_SKIPPED_FIRST = frozenset(" \t#")  # a line starting so may be blank or a comment


class StreamInputError(DataFormatError):
    """A line of a stream breaks the format; ``line`` is its 1-based number."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


class StreamParser:
    """Turn the lines of a stream into steps for a model with inputs ``input_names``.

    Feed it blocks of lines with :meth:`parse`, then call :meth:`finish` at the end of the
    input. See the module documentation for the formats and the error policy.

    Examples:
        >>> parser = StreamParser(["Bias", "Bed"], source="demo")
        >>> batch, problems = parser.parse([b"Bed,Bias", b"1,1", b"0,1"], first_line=1)
        >>> parser.format, batch.rows.tolist(), batch.counts.tolist()
        ('rows', [[1, 1], [1, 0]], [1, 1])
    """

    def __init__(
        self,
        input_names: Sequence[str],
        step_seconds: float = 1.0,
        start: str | None = None,
        on_error: str = "stop",
        source: str = "<stdin>",
    ) -> None:
        if on_error not in ON_ERROR_POLICIES:
            raise DataFormatError(
                f"on_error must be one of {list(ON_ERROR_POLICIES)}; got {on_error!r}"
            )
        if not (math.isfinite(step_seconds) and step_seconds > 0):
            raise DataFormatError(f"step_seconds must be a positive number; got {step_seconds}")
        self.input_names = tuple(input_names)
        self._index = {name: i for i, name in enumerate(self.input_names)}
        self.step_seconds = float(step_seconds)
        self.on_error = on_error
        self.source = source
        self.format: Literal["rows", "events"] | None = None
        self.clock: Clock | None = None
        self.failed: StreamInputError | None = None
        self._start = start
        self._steps = 0  # steps emitted so far; for events also the index of the pending step
        self._last_time = -math.inf
        # rows format
        self._columns: list[int] = []  # model input of each column, -1 = dropped
        self._has_time = False
        # events format
        self._level = np.zeros(len(self.input_names), dtype=np.int8)  # on/off now
        self._start_level = np.zeros(len(self.input_names), dtype=np.int8)  # at the step's start
        self._turned_on = np.zeros(len(self.input_names), dtype=np.int8)  # during the step
        self._step_advanced = False  # a line strictly after the pending step's start was read

    # -- public -----------------------------------------------------------------------------
    def parse(
        self, lines: Sequence[bytes], first_line: int
    ) -> tuple[StepBatch, list[StreamInputError]]:
        """Parse ``lines`` (without line ends; ``first_line`` is the number of the first).

        Returns the completed steps and the problems met. With ``on_error="stop"`` parsing ends
        at the first problem, which is also kept in :attr:`failed`; with ``"skip"`` the bad
        lines are left out.

        Raises:
            StreamInputError: a header that cannot be used (whatever the policy).
        """
        out = StepRuns(self._steps, len(self.input_names), self.step_seconds)
        problems: list[StreamInputError] = []
        if self.failed is not None:
            return out.batch(), problems
        number = first_line
        start = 0
        if self.format is None:
            for offset, raw in enumerate(lines):
                text = self._text(raw, first_line + offset, problems)
                if self.failed is not None:
                    return out.batch(), problems
                if text is None or not text.strip() or text.lstrip().startswith("#"):
                    continue
                self._header(text, first_line + offset, problems)
                start = offset + 1
                break
            else:
                return out.batch(), problems
        number = first_line + start
        body = lines[start:]
        if self.format == "rows" and not self._has_time and self._fast_rows(body, out):
            pass
        else:
            for offset, raw in enumerate(body):
                if self.failed is not None:
                    break
                self._line(raw, number + offset, out, problems)
        batch = out.batch()
        if self.format == "rows":
            self._steps += batch.n_steps
        return batch, problems

    def finish(self) -> StepBatch:
        """The steps still pending at the end of the input (events: see the module doc)."""
        out = StepRuns(self._steps, len(self.input_names), self.step_seconds)
        if self.format == "events" and self.failed is None:
            if self._step_advanced or self._turned_on.any():
                out.add(self._start_level | self._turned_on, 1, self._steps * self.step_seconds)
        batch = out.batch()
        self._steps += batch.n_steps
        return batch

    # -- header -----------------------------------------------------------------------------
    def _header(self, text: str, number: int, problems: list[StreamInputError]) -> None:
        names = [field.strip() for field in text.split(",")]
        where = f"{self.source} line {number}"
        if tuple(names) == EVENT_HEADER:
            self.format = "events"
            return
        self.format = "rows"
        if names and names[0] == TIME_COLUMN:
            self._has_time = True
            names = names[1:]
        seen: set[str] = set()
        for name in names:
            if name in seen:
                raise StreamInputError(f"{where}: header: channel {name!r} appears twice", number)
            seen.add(name)
            if name not in self._index:
                problem = StreamInputError(
                    f"{where}: header: unknown channel {name!r}; the model's inputs are "
                    f"{', '.join(self.input_names)} (or use the event header "
                    f"'{','.join(EVENT_HEADER)}')",
                    number,
                )
                if self.on_error == "stop":
                    raise problem
                problems.append(problem)
            self._columns.append(self._index.get(name, -1))
        if all(column < 0 for column in self._columns):
            raise StreamInputError(
                f"{where}: header names none of the model's inputs "
                f"({', '.join(self.input_names)}); found {text.strip()[:80]!r}",
                number,
            )

    # -- lines ------------------------------------------------------------------------------
    def _text(self, raw: bytes, number: int, problems: list[StreamInputError]) -> str | None:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            self._problem(f"is not UTF-8 text: {raw[:60]!r}", number, problems)
            return None

    def _problem(self, what: str, number: int, problems: list[StreamInputError]) -> None:
        problem = StreamInputError(f"{self.source} line {number}: {what}", number)
        problems.append(problem)
        if self.on_error == "stop":
            self.failed = problem

    def _line(
        self, raw: bytes, number: int, out: StepRuns, problems: list[StreamInputError]
    ) -> None:
        text = self._text(raw, number, problems)
        if text is None or not text or text[0] in _SKIPPED_FIRST:
            if text is None or not text.strip() or text.lstrip().startswith("#"):
                return
        fields = text.split(",")
        if " " in text or "\t" in text:
            fields = [field.strip() for field in fields]
        if self.format == "events":
            self._event(fields, text, number, out, problems)
        else:
            self._row(fields, text, number, out, problems)

    def _row(
        self,
        fields: list[str],
        text: str,
        number: int,
        out: StepRuns,
        problems: list[StreamInputError],
    ) -> None:
        expected = len(self._columns) + self._has_time
        if len(fields) != expected:
            self._problem(
                f"expected {expected} fields (one per header column), found {len(fields)}: "
                f"{text.strip()[:80]!r}",
                number,
                problems,
            )
            return
        offset = 0.0
        if self._has_time:
            checked = self._time(fields[0], number, problems)
            if checked is None:
                return
            offset = checked
            fields = fields[1:]
        spikes = np.zeros(len(self.input_names), dtype=np.int8)
        for column, value in zip(self._columns, fields, strict=True):
            if value not in ("0", "1"):
                name = self.input_names[column] if column >= 0 else "(dropped)"
                self._problem(f"field {name}: {value!r} is not 0 or 1", number, problems)
                return
            if column >= 0:
                spikes[column] = value == "1"
        if self._has_time:
            self._last_time = offset
        out.add(spikes, 1, offset if self._has_time else None)

    def _fast_rows(self, lines: Sequence[bytes], out: StepRuns) -> bool:
        """All of ``lines`` as plain ``0,1,...`` rows in one numpy pass; False if any is not."""
        width = 2 * len(self._columns) - 1
        if not lines or {len(line) for line in lines} != {width}:
            return False
        cells = np.frombuffer(b"".join(lines), dtype=np.uint8).reshape(len(lines), width)
        digits = cells[:, 0::2]
        if not (((digits == _ZERO) | (digits == _ONE)).all() and (cells[:, 1::2] == _COMMA).all()):
            return False
        spikes = np.zeros((len(lines), len(self.input_names)), dtype=np.int8)
        kept = [i for i, column in enumerate(self._columns) if column >= 0]
        spikes[:, [self._columns[i] for i in kept]] = digits[:, kept] - _ZERO
        out.extend(spikes)
        return True

    def _time(self, text: str, number: int, problems: list[StreamInputError]) -> float | None:
        """The clock offset of a time field, checked (kind, order, start), or None."""
        value = self._parse_time(text)
        if value is None:
            self._problem(
                f"field time: {text!r} is not a time (a number of seconds or an ISO date-time "
                "such as 2011-11-28 02:27:59)",
                number,
                problems,
            )
            return None
        if self.clock is None:
            self.clock = self._make_clock(value, number)
        clock = self.clock
        if isinstance(value, dt.datetime) != (clock.kind == "iso") or (
            isinstance(value, dt.datetime)
            and clock.origin_time is not None
            and (value.tzinfo is None) != (clock.origin_time.tzinfo is None)
        ):
            kind = "an ISO date-time" if clock.kind == "iso" else "a number of seconds"
            self._problem(
                f"field time: {text!r} is not {kind} like the stream's first time "
                f"(one kind of time per stream; time zones given on all times or none)",
                number,
                problems,
            )
            return None
        if isinstance(value, dt.datetime):
            assert clock.origin_time is not None
            offset = (value - clock.origin_time).total_seconds()
        else:
            offset = value - clock.origin_seconds
        if offset < self._last_time:
            self._problem(
                f"field time: {text} lies before the time of an earlier line "
                f"({clock.format(self._last_time)}); time must not go backwards",
                number,
                problems,
            )
            return None
        if offset < 0:
            self._problem(
                f"field time: {text} lies before the stream's start ({clock.format(0.0)})",
                number,
                problems,
            )
            return None
        return offset

    def _parse_time(self, text: str) -> dt.datetime | float | None:
        """:func:`parse_time`, trying the stream's kind of time first (no exception per line)."""
        if self.clock is not None and self.clock.kind == "iso" and text[:1].isdigit():
            try:
                return dt.datetime.fromisoformat(text)
            except ValueError:
                pass
        return parse_time(text)

    def _make_clock(self, first: dt.datetime | float, number: int) -> Clock:
        origin: dt.datetime | float = first
        if self._start is not None:
            start = parse_time(self._start)
            if start is None or isinstance(start, dt.datetime) != isinstance(first, dt.datetime):
                raise StreamInputError(
                    f"--start {self._start!r} is not a time of the stream's kind (line {number} "
                    f"has {first!s}); give a number of seconds or an ISO date-time like it",
                    number,
                )
            origin = start
        if isinstance(origin, dt.datetime):
            return Clock("iso", origin_time=origin)
        return Clock("seconds", origin_seconds=origin)

    def _event(
        self,
        fields: list[str],
        text: str,
        number: int,
        out: StepRuns,
        problems: list[StreamInputError],
    ) -> None:
        if len(fields) != 3:
            self._problem(
                f"expected 3 fields (time,channel,value), found {len(fields)}: "
                f"{text.strip()[:80]!r}",
                number,
                problems,
            )
            return
        time_text, channel, value = fields
        index = -1
        if channel:
            if channel not in self._index:
                self._problem(
                    f"field channel: unknown channel {channel!r}; the model's inputs are "
                    f"{', '.join(self.input_names)}",
                    number,
                    problems,
                )
                return
            index = self._index[channel]
            if value not in ("0", "1"):
                self._problem(f"field value: {value!r} is not 0 (off) or 1 (on)", number, problems)
                return
        elif value not in ("", "0", "1"):
            self._problem(
                f"field value: {value!r} on a clock tick (empty channel); leave it empty",
                number,
                problems,
            )
            return
        offset = self._time(time_text, number, problems)
        if offset is None:
            return
        self._last_time = offset
        position = offset / self.step_seconds - self._steps
        whole = math.floor(position + _EPSILON)
        if whole > 0:  # the pending step is complete, and the quiet ones after it
            out.add(self._start_level | self._turned_on, 1, self._steps * self.step_seconds)
            if whole > 1:
                out.add(self._level.copy(), whole - 1, (self._steps + 1) * self.step_seconds)
            self._steps += whole
            self._start_level = self._level.copy()
            self._turned_on[:] = 0
            self._step_advanced = False
            position -= whole
        at_start = position <= _EPSILON
        self._step_advanced |= not at_start
        if index >= 0:
            self._level[index] = value == "1"
            if at_start:  # the channel's state when the step began
                self._start_level[index] = self._level[index]
            if value == "1":
                self._turned_on[index] = 1
