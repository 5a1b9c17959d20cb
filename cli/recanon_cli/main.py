"""The ``recanon`` command: one Typer app, one module per command group."""

from __future__ import annotations

import os
import signal
from typing import Annotated

os.environ.setdefault("YOLO_OFFLINE", "1")  # never let Ultralytics reach for the network
os.environ.setdefault("YOLO_VERBOSE", "False")

import typer

from recanon_cli._app import RecanonGroup
from recanon_cli.commands import (
    anonymize,
    evaluate,
    export,
    info,
    inspect,
    keys,
    recover,
    train,
    verify,
    watch,
)

app = typer.Typer(
    name="recanon",
    help=(
        "Anonymize people in video while keeping their pose estimable; recover them for key holders only.\n\n"
        "Examples:\n\n"
        "  recanon anonymize walk.mp4                 # → walk.anon.mp4 + walk.anon.pose.jsonl\n\n"
        "  recanon anonymize cam.mkv -o out.mp4 --enhancer pixelate --imgsz 1280\n\n"
        "  recanon anonymize archive/ -o anon/ --jobs 2      # every video below archive/\n\n"
        "  recanon watch cameras.toml -o recordings/         # live cameras, 10-minute segments\n\n"
        "  recanon inspect walk.anon.pose.jsonl\n\n"
        "  recanon recover walk.anon.mp4 --key alice.key -d site.deployment --track 3\n\n"
        "  recanon info"
    ),
    no_args_is_help=True,
    cls=RecanonGroup,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,  # keys and passphrases must never reach a log
    add_completion=False,
)


def _show_version(value: bool) -> None:
    if value:
        from recanon_sdk._version import __version__

        typer.echo(f"recanon {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_show_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """Anonymize people in video while keeping their pose estimable; recover them for key holders only."""


app.command(no_args_is_help=True)(anonymize.anonymize)
app.command(no_args_is_help=True)(watch.watch)
app.command()(info.info)
app.command(name="inspect", no_args_is_help=True)(inspect.inspect_file)
app.add_typer(keys.app)
app.command(no_args_is_help=True)(recover.recover)
app.command(no_args_is_help=True)(verify.verify)
app.command(no_args_is_help=True)(train.train)
app.command(name="eval", no_args_is_help=True)(evaluate.eval_command)
app.command()(export.export)


def main() -> None:
    """Entry point: bad input ends in one sentence and a non-zero exit, never a traceback.

    Set ``RECANON_DEBUG=1`` to see the traceback of an unexpected internal error.
    """
    from recanon_sdk import interrupts

    from recanon_cli._console import print_error
    from recanon_cli._memory import limit_heap_growth

    limit_heap_growth()  # before any thread starts

    def terminate(signum: int, frame: object) -> None:
        # Recorded as well as raised: a KeyboardInterrupt raised inside a finalizer is swallowed by
        # Python, and the pipelines then stop at their next check (`kill` cleans up like Ctrl-C).
        interrupts.request()
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGINT, terminate)
    try:
        app()
    except KeyboardInterrupt:
        print_error("interrupted (Ctrl-C); partial outputs were removed")
        raise SystemExit(130) from None
    except Exception as error:
        if os.environ.get("RECANON_DEBUG"):
            raise
        print_error(
            f"unexpected internal error: {type(error).__name__}: {error}",
            "this is a bug in recanon; rerun with RECANON_DEBUG=1 for the traceback and report it",
        )
        raise SystemExit(70) from None


if __name__ == "__main__":
    main()
