"""The package keeps the shape issue 22 gave it: small files and functions, imports that only
point down (``lint-imports`` checks the layers), function-level imports only where the target
is heavy or optional, and ``import hone`` / ``hone --help`` without PyTorch."""

from __future__ import annotations

import ast
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "hone"
MAX_FILE_LINES = 400
MAX_FUNCTION_LINES = 80
# The two training loops are read top to bottom as one piece (nanoGPT style): splitting their
# bodies into steps would hide the order of what happens in a step.
LONG_FILES = {"train/stacked.py"}
LONG_FUNCTIONS = {("train/engine.py", "fit"), ("train/stacked.py", "fit_stacked")}
# Imported at module level, these make a module heavy: a function-level import of a hone
# module is for one that loads them (or an optional extra), never to hide a cycle.
HEAVY = ("torch", "matplotlib", "optuna", "sklearn", "scipy", "ray", "mlflow", "tensorboard",
         "onnx", "onnxruntime", "PIL", "safetensors", "jinja2")  # fmt: skip


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _relative(path: Path) -> str:
    return path.relative_to(PACKAGE).as_posix()


def test_no_file_is_over_400_lines() -> None:
    long = {
        _relative(p): n
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text().splitlines())) > MAX_FILE_LINES
        and _relative(p) not in LONG_FILES
    }
    assert not long, f"split these files (lines): {long}"


def test_no_function_is_over_80_lines() -> None:
    long = {}
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                where = (_relative(path), node.name)
                if lines > MAX_FUNCTION_LINES and where not in LONG_FUNCTIONS:
                    long[f"{where[0]}::{where[1]}"] = lines
    assert not long, f"break these functions into named steps (lines): {long}"


@cache
def _top_level_imports(module: str) -> frozenset[str]:
    """What importing ``module`` imports at once: its module-level imports and its parents'
    packages."""
    path = _modules()[module]
    found: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
    parts = module.split(".")
    found.update(".".join(parts[:i]) for i in range(1, len(parts)))
    return frozenset(found)


@cache
def _loads_heavy(module: str) -> bool:
    """Whether importing ``module`` loads a heavy library, directly or through hone modules."""
    modules, todo, seen = _modules(), [module], {module}
    while todo:
        for name in _top_level_imports(todo.pop()):
            if name.split(".")[0] in HEAVY:
                return True
            if name in modules and name not in seen:
                seen.add(name)
                todo.append(name)
    return False


def test_function_level_imports_are_for_heavy_modules_only() -> None:
    """A ``from hone... import`` inside a function defers a module that loads PyTorch (or
    another heavy or optional library); anything else belongs at the top of the file."""
    needless = []
    for module, path in _modules().items():
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for sub in ast.walk(node):
                if isinstance(sub, ast.ImportFrom) and (sub.module or "").startswith("hone"):
                    target = str(sub.module)
                    if target in _modules() and not _loads_heavy(target):
                        needless.append(f"{module}:{sub.lineno} imports {target}")
    assert not needless, "import these at the top of the file:\n" + "\n".join(needless)


@pytest.mark.parametrize(
    "code",
    [
        "import hone",
        "import hone.diagnose, hone.report, hone.experiments, hone.store",
        "from hone.cli import main\nimport sys\nsys.argv = ['hone', '--help']\ntry:\n"
        "    main()\nexcept SystemExit:\n    pass",
    ],
)
def test_starting_hone_loads_no_torch(code: str) -> None:
    check = f"{code}\nimport sys\nassert 'torch' not in sys.modules, 'torch was imported'\n"
    check += "assert 'matplotlib' not in sys.modules, 'matplotlib was imported'\n"
    done = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]


def test_no_import_cycles() -> None:
    """No module imports itself back through others, function-level imports included (the
    layers contract forbids upward imports between layers; this covers modules within one)."""
    grimp = pytest.importorskip("grimp")
    graph = grimp.build_graph("hone", cache_dir=None)
    cycles = []
    for module in sorted(graph.modules):
        for imported in graph.find_modules_directly_imported_by(module):
            if module != imported and graph.chain_exists(imported=module, importer=imported):
                cycles.append(f"{module} <-> {imported}")
    assert not cycles, "import cycles:\n" + "\n".join(cycles[:20])
