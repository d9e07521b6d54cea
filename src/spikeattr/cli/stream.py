"""`spikeattr stream` (explain a live stream) and `spikeattr data adl-replay` (a live source).

Exit status: 0 at the end of the input, at ``--max-steps`` or when the reader of standard
output goes away (a closed pipe, e.g. ``| head``: nothing more to write is a normal end);
2 for bad arguments or bad input under ``--on-error stop`` (one line on standard error naming
the source, line, field and value); 130 on Ctrl-C. Never a traceback.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, cast

import typer
from rich.text import Text

from spikeattr.cli._common import ModelOption, QuietOption, StreamVariantOption, console, fail
from spikeattr.errors import SpikeAttrError

InputOption = Annotated[
    str,
    typer.Option(
        "--input", help="The stream: a file, or - for standard input (explained as it arrives)."
    ),
]


def stream(
    model: ModelOption,
    variant: StreamVariantOption = "ns",
    input_path: InputOption = "-",
    follow: Annotated[
        bool,
        typer.Option("--follow", help="Keep reading the --input file as it grows (tail -f)."),
    ] = False,
    fmt: Annotated[str, typer.Option("--format", help="Records as jsonl or csv.")] = "jsonl",
    top: Annotated[int, typer.Option("--top", help="Contributions listed per record.")] = 5,
    on_change: Annotated[
        bool,
        typer.Option(
            "--on-change", help="Write only steps where the prediction changes, and what moved it."
        ),
    ] = False,
    on_error: Annotated[
        str,
        typer.Option(
            "--on-error",
            help="A bad line: stop (exit 2, the steps before it are written) or skip (report "
            "it on standard error and go on).",
        ),
    ] = "stop",
    step_seconds: Annotated[
        float, typer.Option("--step-seconds", help="Seconds per step when binning events.")
    ] = 1.0,
    start: Annotated[
        str | None,
        typer.Option("--start", help="Clock time of step 0 for events (default: the first)."),
    ] = None,
    support: Annotated[
        int | None,
        typer.Option("--support", help="Steps per map (default: from --tolerance)."),
    ] = None,
    tolerance: Annotated[
        float, typer.Option("--tolerance", help="Drop past steps whose decay is below this.")
    ] = 1e-7,
    max_steps: Annotated[
        int | None, typer.Option("--max-steps", help="Stop after this many steps.")
    ] = None,
    view: Annotated[
        bool,
        typer.Option("--view", help="Show a live view in the terminal instead of records."),
    ] = False,
    quiet: QuietOption = False,
) -> None:
    """Explain a live spike stream step by step: rows of 0/1 or timestamped events."""
    from spikeattr.data.line_source import read_line_blocks
    from spikeattr.data.stream_input import ON_ERROR_POLICIES, StreamParser
    from spikeattr.explain.exact_online import ExactOnlineExplainer
    from spikeattr.explain.exact_series import EXACT_SERIES_METHODS
    from spikeattr.explain.online import OnlineExplainer
    from spikeattr.explain.stream_records import RECORD_FORMATS, RecordWriter
    from spikeattr.explain.tsa import VARIANTS
    from spikeattr.pipelines.stream import StreamSummary, run_stream
    from spikeattr.snn.checkpoint import load_model

    if variant not in (known := (*VARIANTS, *EXACT_SERIES_METHODS)):
        raise fail(
            f"unknown variant {variant!r} for stream; choose one of {', '.join(known)} (the "
            "gradient methods explain windows: spikeattr explain --variant)"
        )
    if fmt not in RECORD_FORMATS:
        raise fail(f"--format must be one of {', '.join(RECORD_FORMATS)}; got {fmt!r}")
    if on_error not in ON_ERROR_POLICIES:
        raise fail(f"--on-error must be one of {', '.join(ON_ERROR_POLICIES)}; got {on_error!r}")
    if top < 0:
        raise fail(f"--top must be 0 or more; got {top}")
    if max_steps is not None and max_steps < 0:
        raise fail(f"--max-steps must be 0 or more; got {max_steps}")
    if follow and input_path == "-":
        raise fail("--follow tails a file that is being written; give it with --input FILE")
    source = "<stdin>" if input_path == "-" else input_path
    if input_path != "-" and not Path(input_path).is_file():
        raise fail(f"{input_path}: no such file (--input)")
    summary = StreamSummary()
    steps_done = [0]
    try:
        network = load_model(model)
        explainer: Any
        if variant in EXACT_SERIES_METHODS:
            explainer = ExactOnlineExplainer(network, variant, support, tolerance)
            label = variant
        else:
            explainer = OnlineExplainer(network, variant, support=support, tolerance=tolerance)
            label = f"TSA-{variant.upper()}"
        parser = StreamParser(
            network.input_names, step_seconds, start=start, on_error=on_error, source=source
        )
        blocks = read_line_blocks(None if input_path == "-" else input_path, follow=follow)

        def warn(problem: SpikeAttrError) -> None:
            console.print(Text("warning: ", style="bold yellow") + Text(f"{problem} (skipped)"))

        def clock_text(offset: float) -> str:
            return parser.clock.format(offset) if parser.clock is not None else ""

        if view:
            from spikeattr.viz.live import LiveView

            live_view = LiveView(
                network.input_names,
                network.class_names,
                f"{network.name} · {label} · K = {explainer.support}",
                clock=clock_text,
            )

            def show(chunk: Any, times: Any, previous: int | None) -> None:
                steps_done[0] += len(chunk)
                live_view.update(chunk, times, previous)

            with _live(live_view.render):
                summary = run_stream(explainer, blocks, parser, show, warn, max_steps)
        else:
            writer: list[RecordWriter] = []

            def write(chunk: Any, times: Any, previous: int | None) -> None:
                if not writer:  # the clock is known once the first time has been read
                    writer.append(
                        RecordWriter(
                            network.input_names,
                            network.class_names,
                            fmt,
                            top,
                            on_change,
                            parser.clock,
                        )
                    )
                    sys.stdout.write(writer[0].header())
                steps_done[0] += len(chunk)  # before writing: Ctrl-C may come as the reader reads
                sys.stdout.write(writer[0].records(chunk, times, previous))
                sys.stdout.flush()

            summary = run_stream(explainer, blocks, parser, write, warn, max_steps)
    except BrokenPipeError:
        _detach_stdout()  # the reader is gone: nothing more to say, and nothing to flush
        raise typer.Exit(0) from None
    except KeyboardInterrupt:
        console.print(f"interrupted after {steps_done[0]} steps")
        raise typer.Exit(130) from None
    except SpikeAttrError as exc:
        raise fail(str(exc)) from exc
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        raise fail(f"{where}{exc.strerror or exc}") from exc
    if not quiet:
        ending = " (--max-steps)" if summary.reached_max_steps else ""
        skipped = f", {summary.skipped_lines} bad lines skipped" if summary.skipped_lines else ""
        console.print(
            f"explained {summary.steps} steps{ending}, {summary.changes} changes of "
            f"prediction{skipped}"
        )


def adl_replay(
    subject: Annotated[str, typer.Option("--subject", help="A or B.")] = "A",
    split: Annotated[
        str | None,
        typer.Option("--split", help="train, val or test (default: the whole timeline)."),
    ] = None,
    speed: Annotated[
        float,
        typer.Option("--speed", help="Times real time (3600: an hour per second); 0: no pauses."),
    ] = 0.0,
    tick: Annotated[
        int,
        typer.Option("--tick", help="Also write a clock tick every this many seconds (0: none)."),
    ] = 0,
    raw_dir: Annotated[
        Path | None,
        typer.Option("--raw-dir", help="Your copy of the raw UCI files (default: shipped)."),
    ] = None,
    no_verify: Annotated[
        bool, typer.Option("--no-verify", help="Skip the SHA-256 check of the raw files.")
    ] = False,
) -> None:
    """Replay a UCI ADL sensor file as a live event stream on standard output."""
    from spikeattr.data import adl_replay as replay_module

    subject = subject.upper()
    if subject not in ("A", "B"):
        raise fail(f"--subject must be A or B; got {subject!r}")
    if speed < 0 or tick < 0:
        raise fail(f"--speed and --tick must be 0 or more; got {speed} and {tick}")
    try:
        plan = replay_module.adl_replay(
            raw_dir, cast(Any, subject), split=split, verify=not no_verify
        )
        replay_module.replay(plan.lines(tick), sys.stdout.write, sys.stdout.flush, speed)
    except BrokenPipeError:
        _detach_stdout()
        raise typer.Exit(0) from None
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    except SpikeAttrError as exc:
        raise fail(str(exc)) from exc


@contextmanager
def _live(render: Callable[[], Any]) -> Iterator[None]:
    """A rich live display on standard output, refreshed 8 times a second."""
    from rich.console import Console
    from rich.live import Live

    with Live(get_renderable=render, console=Console(), refresh_per_second=8):
        yield


def _detach_stdout() -> None:
    """Point standard output at /dev/null, so that the interpreter's final flush is silent."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # io.UnsupportedOperation: a replaced stream
        pass  # not a real file (tests): nothing will be flushed to a closed pipe
