"""``hone schema``: the config's JSON Schema, for editors that validate and complete YAML."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hone.cli.common import err
from hone.config.schema import schema_text
from hone.errors import ConfigError

__all__ = ["schema_cmd"]


def schema_cmd(
    out_file: Annotated[
        Path | None,
        typer.Option("--out", help="Write the schema to this file instead of printing it."),
    ] = None,
) -> None:
    """Print the JSON Schema of a config, generated from hone's own models.

    Point your editor at it with a first line such as
    ``# yaml-language-server: $schema=hone.schema.json`` (VS Code: Red Hat's YAML extension).
    """
    text = schema_text()
    if out_file is None:
        typer.echo(text, nl=False)
        return
    try:
        out_file.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"--out: cannot write {out_file}: {exc.strerror or exc}") from None
    err.print(f"wrote {out_file}", highlight=False, soft_wrap=True)
