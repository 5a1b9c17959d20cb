"""The ``recanon`` command tree's Click classes: usage errors as one sentence, flags shown as flags.

Click (under Typer) reports a usage error (an unknown option, a missing argument, a bad value) in a
box with the usage line; recanon reports it like every other error, on stderr, and exits 2::

    recanon: error: anonymize: no such option: --bogus (did you mean --jobs?)
    recanon: hint: run 'recanon anonymize --help' for the options

Typer's help shows a value type after every option, ``<bool>`` too, which reads as if a flag took a
value (``--overwrite <bool>``); here a flag shows none. Help texts are shown as written (Typer reads
them as Rich markup, which would drop ``[gpu]`` from ``pip install 'recanon[gpu]'``).
"""

from __future__ import annotations

import sys
from typing import Any

import typer
from typer.core import TyperGroup

from recanon_cli._console import print_error

#: The exceptions of the Click that Typer runs on (its own copy in recent Typer, Click before).
_errors = sys.modules[typer.BadParameter.__module__]
UsageError = _errors.UsageError
ClickException = _errors.ClickException
#: Raised for a group or command called without arguments (Click ≥ 8.2); its help is printed already.
NoArgsIsHelpError = getattr(_errors, "NoArgsIsHelpError", ())
Aborts = tuple({typer.Abort, getattr(_errors, "Abort", typer.Abort)})


def _is_flag(param: Any) -> bool:
    return bool(getattr(param, "is_flag", False)) and getattr(param, "metavar", "") is None


def _escaped(text: str | None) -> str | None:
    """``text`` with its brackets shown as brackets: Typer's help reads Rich markup, in which
    ``pip install 'recanon[gpu]'`` would lose ``[gpu]``."""
    return None if text is None else text.replace("[", "\\[")


def readable_help(command: Any, ctx: Any) -> Any:
    """``command`` with no value type shown for its flags (and its help option) in ``--help``, and
    brackets in its help texts shown as written (once per command object)."""
    if getattr(command, "_recanon_readable", False):
        return command
    params = list(command.params)
    if ctx is not None:
        help_option = command.get_help_option(ctx)
        if help_option is not None:
            params.append(help_option)
    for param in params:
        if _is_flag(param):
            param.metavar = ""  # Typer's help prints the metavar, when set, instead of "<bool>"
        if getattr(param, "help", None):
            param.help = _escaped(param.help)
    command.help = _escaped(command.help)
    command._recanon_readable = True
    return command


def _usage_hint(error: Any, command: str | None = None) -> str:
    ctx = error.ctx
    if ctx is not None and ctx.parent is not None:
        return f"run '{ctx.command_path} --help' for the options"
    if command:  # Click raised without a context (e.g. an option missing its value)
        return f"run 'recanon {command} --help' for the options"
    return "run 'recanon --help' for the commands"


def _command_named(group: Any, args: list[str]) -> str | None:
    """The (sub)command the leading words of ``args`` name, e.g. ``"keys holder new"``, or ``None``."""
    words, current = [], group
    for word in args:
        commands = getattr(current, "commands", None)
        if not commands or word not in commands:
            break
        words.append(word)
        current = commands[word]
    return " ".join(words) or None


def _sentence(message: str) -> str:
    """Click's message as recanon writes errors: lower-case start, no final period."""
    message = message.strip().replace("Value error, ", "")
    return (message[:1].lower() + message[1:]).rstrip(".")


def _usage_message(error: Any, command: str | None = None) -> str:
    message = _sentence(error.format_message())
    ctx = error.ctx
    if ctx is not None and ctx.parent is not None:
        command = ctx.command_path.split(" ", 1)[-1]  # which (sub)command said it, without "recanon"
    return f"{command}: {message}" if command else message


class RecanonGroup(TyperGroup):
    """A Typer group whose errors are recanon's (one sentence, a hint, exit 2) and whose help shows
    flags without a value type, its subcommands' too."""

    def get_params(self, ctx: Any) -> list[Any]:
        readable_help(self, ctx)
        return super().get_params(ctx)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        return None if command is None else readable_help(command, ctx)

    def main(  # type: ignore[override]
        self,
        args: Any = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except NoArgsIsHelpError:
            result = 2  # the help was printed (on stdout) when the error was made
        except UsageError as error:
            named = _command_named(self, list(sys.argv[1:] if args is None else args))
            print_error(_usage_message(error, named), _usage_hint(error, named))
            result = 2
        except ClickException as error:  # e.g. a file Click could not open
            print_error(_sentence(error.format_message()))
            result = error.exit_code
        except Aborts:
            print_error("aborted")
            result = 1
        if not standalone_mode:
            return result
        sys.exit(result if isinstance(result, int) else 0)
