"""The mkdocs hook (``hooks:`` in mkdocs.yml): before each build, add the pages generated from
the code (the CLI, API and config references) and from the lesson notebooks."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

sys.path.insert(0, str(Path(__file__).parent))

import notebooks
import reference

PAGES = {
    "reference/cli.md": reference.cli_page,
    "reference/config.md": reference.config_page,
    "reference/api.md": reference.api_page,
}


def on_files(files: Files, config: Any) -> Files:
    for uri, make in PAGES.items():
        files.append(File.generated(config, uri, content=make()))
    for lesson in [f for f in files if f.src_uri.startswith("lessons/")]:
        if lesson.src_uri.endswith(".ipynb"):
            page = lesson.src_uri.removesuffix(".ipynb") + ".md"
            text = notebooks.notebook_markdown(Path(lesson.abs_src_path or ""))
            files.append(File.generated(config, page, content=text))
    return files
