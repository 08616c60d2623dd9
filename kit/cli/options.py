"""Click options built from the config dataclasses' `kit.settings.setting` fields (flag, type, range or
choices, default, help, environment variable: each in one place, the field), and the boundary that turns
any failure into one line.

    @config_options(FinetuneConfig, "batch_size", "max_length")
    def finetune(**settings): config = FinetuneConfig(**settings)
"""

from __future__ import annotations

import dataclasses
import functools
import math
import sys
import types
import typing

import click
from click.core import ParameterSource

from kit.errors import KitError, describe_failure, first_line
from kit.settings import check_value, env_name

PIPED_WIDTH = 200  # rich tables written to a pipe or file: wide enough that no column is cut


class KitGroup(click.Group):
    """The CLI boundary: every command runs inside it, so a failure is one line and exit code 1."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as e:
            if ctx.params.get("debug"):
                raise
            message = describe_failure(e) or (
                f"unexpected {type(e).__name__}: {first_line(e)} (rerun with --debug for the traceback)"
            )
            raise click.ClickException(message) from e


def make_console(stderr: bool = False):
    """A rich console; piped or redirected output gets PIPED_WIDTH columns instead of rich's 80."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    if stream is None:  # started with the stream closed (`nsmckit ... >&-`)
        raise KitError(f"standard {'error' if stderr else 'output'} is closed: redirect it to a file to see the table")
    return Console(stderr=stderr, width=None if stream.isatty() else PIPED_WIDTH)


def from_environment(ctx: click.Context, name: str) -> bool:
    """Whether an option's value is a default from its environment variable, not given on the command line."""
    return ctx.get_parameter_source(name) is ParameterSource.ENVIRONMENT


def apply(options: list):
    """Stack Click option decorators in the order given (the first shows first in --help)."""
    return lambda command: functools.reduce(lambda f, option: option(f), reversed(options), command)


def comma_list(cast, meta):
    """Click callback for "a,b,c" -> tuple of `cast` values, each within the field's range and choices."""

    def parse(ctx, param, value: str):
        try:
            values = tuple(cast(v.strip()) for v in value.split(",") if v.strip())
        except ValueError as e:
            raise click.BadParameter(f"expected comma-separated {cast.__name__} values, got {value!r}") from e
        try:
            check_value(meta, "", values)
        except KitError as e:
            raise click.BadParameter(str(e).strip()) from e
        return values

    return parse


def field_option(field: dataclasses.Field, hint, envvar_prefix: str | None = None, help: str | None = None):
    """One Click option from a `kit.settings.setting` field: flag, type, range or choices, default, help."""
    meta = field.metadata
    flag = meta.get("flag") or "--" + field.name.replace("_", "-")
    default = field.default if field.default is not dataclasses.MISSING else field.default_factory()
    help = help or meta.get("help") or None
    kwargs: dict = {"default": default, "help": help}
    if "[default:" in (help or ""):
        kwargs["show_default"] = False  # the help says the default in words
    envvar = env_name(field, envvar_prefix)
    if envvar:
        kwargs.update(envvar=envvar, show_envvar=True)
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    base = args[0] if typing.get_origin(hint) in (typing.Union, types.UnionType) else hint
    if base is bool:
        kwargs["is_flag"] = True
    elif meta.get("multiple"):  # repeated, not comma-separated
        item = click.Choice(meta["choices"]) if meta["choices"] else click.IntRange(meta["min"])
        kwargs.update(multiple=True, type=item)
    elif typing.get_origin(base) is tuple:
        cast = typing.get_args(base)[0]
        if typing.get_origin(cast) in (typing.Union, types.UnionType):  # the command line gives the first kind
            cast = typing.get_args(cast)[0]
        kwargs.update(default=",".join(map(str, default)), callback=comma_list(cast, meta))
    elif meta.get("choices"):
        kwargs["type"] = click.Choice(meta["choices"])
    elif base is int:
        kwargs["type"] = click.IntRange(meta["min"], meta["max"]) if meta["min"] is not None else int
    elif base is float:
        kwargs["type"] = FiniteFloat(meta["min"], meta["max"], max_open=meta["max_open"])
    return click.option(flag, field.name, **kwargs)


class FiniteFloat(click.FloatRange):
    """A float option that refuses nan and inf (which pass every range check: nan compares false both ways),
    from the command line, the environment and env files alike."""

    name = "finite float"

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number


def config_options(config_cls, *names: str, envvar_prefix: str | None = None, help: dict[str, str] | None = None):
    """Options for these fields of a config dataclass; the command receives them under the field names.
    `help` words a field's help for one command."""
    hints = typing.get_type_hints(config_cls)
    fields = {f.name: f for f in dataclasses.fields(config_cls)}
    return apply([field_option(fields[n], hints[n], envvar_prefix, (help or {}).get(n)) for n in names])


def config_from(config_cls, settings: dict, **given):
    """An instance of `config_cls` from the options of its fields, popped from `settings`."""
    names = {f.name for f in dataclasses.fields(config_cls)}
    return config_cls(**{name: settings.pop(name) for name in list(settings) if name in names}, **given)


def progress_printer():
    """A console and a `progress(line)` callback that prints dimmed status lines to it."""
    console = make_console()
    return console, lambda line: console.print(f"[dim]{line}[/dim]")


def note(line: str) -> None:
    """One line on stderr about a setting that was overruled (see the precedence above)."""
    click.echo(f"Note: {line}", err=True)
