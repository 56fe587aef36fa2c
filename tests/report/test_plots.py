"""Figures keep every label: a long legend entry or tick label grows the image, never gets cut."""

from __future__ import annotations

import base64
import io

from PIL import Image

from hone.report import charts, plots


def _size(uri: str) -> tuple[int, int]:
    data = base64.b64decode(uri.split(",", 1)[1])
    with Image.open(io.BytesIO(data)) as im:
        return im.size


def test_a_legend_outside_the_axes_is_kept_whole() -> None:
    short = plots.curves([1, 2, 3], {"a": [1.0, 0.5, 0.2]}, "loss")
    with plots.figure() as (fig, ax):
        ax.plot([1, 2], [1, 2], label="a label far too long to fit " * 4)
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
        long_uri = plots.to_uri(fig)
    assert _size(long_uri)[0] > _size(short)[0] * 1.3  # the image grew to hold the legend


def test_long_class_names_and_many_classes_stay_whole_in_the_confusion_table() -> None:
    """The confusion matrix is an HTML table: 20 long class names are text, never cut."""
    from jinja2 import Environment, PackageLoader

    names = [f"class number {i} with a long name" for i in range(20)]
    matrix = [[5 if i == j else 0 for j in range(20)] for i in range(20)]
    env = Environment(loader=PackageLoader("hone.report", "templates"), autoescape=True)
    page = env.from_string('{% import "charts.html" as c %}{{ c.heatmap(h) }}').render(
        h=charts.heatmap(matrix, names)
    )
    assert all(page.count(f">{n}<") == 2 for n in names)  # a column and a row, whole
    assert page.count("rgba(37, 99, 235, 1.0)") == 20 and page.count("<td") == 400
