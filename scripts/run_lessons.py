"""Execute the lesson notebooks (docs/lessons/*.ipynb) in place.

    python scripts/run_lessons.py                    # full budget: refresh the committed outputs
    python scripts/run_lessons.py 02 --update        # one lesson, and commit its new figures
    python scripts/run_lessons.py --budget ci        # the CI budget; notebooks left unchanged

On the full budget each notebook is saved with its outputs (what the site shows). Each lesson
ends by checking its key numbers against docs/lessons/results/<lesson>.<budget>.json; with
--update it writes that file instead (after a deliberate change). CI runs the lessons with
pytest --nbmake on the ci budget.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

LESSONS = Path(__file__).resolve().parents[1] / "docs" / "lessons"


def main(argv: list[str] | None = None) -> int:
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("lessons", nargs="*", help="lesson numbers or names (default: all)")
    parser.add_argument("--budget", choices=("ci", "full"), default="full")
    parser.add_argument("--update", action="store_true", help="commit the measured figures")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds per cell")
    args = parser.parse_args(argv)
    os.environ["HONE_LESSON_BUDGET"] = args.budget
    if args.update:
        os.environ["HONE_LESSON_UPDATE"] = "1"
    paths = sorted(LESSONS.glob("[0-9]*.ipynb"))
    if args.lessons:
        paths = [p for p in paths if any(p.stem.startswith(w) for w in args.lessons)]
    failed = 0
    for path in paths:
        started = time.monotonic()
        nb = nbformat.read(path, as_version=4)
        client = NotebookClient(nb, timeout=args.timeout, kernel_name="python3",
                                resources={"metadata": {"path": str(LESSONS)}})  # fmt: skip
        try:
            client.execute()
        except CellExecutionError as exc:
            failed += 1
            print(f"{path.name}: FAILED\n{str(exc)[-3000:]}", file=sys.stderr)
            continue
        if args.budget == "full":
            nbformat.write(nb, path)
        print(f"{path.name}: ok in {time.monotonic() - started:.0f} s", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
