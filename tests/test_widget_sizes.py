"""The widgets floor stays made of small parts: no module over 350 lines, no function over 50.

Measured with ``ast`` over every module of ``interpret_widgets/widgets`` (components
included): a module's lines as the file has them, a function's (or method's) from its
``def`` (decorators excluded) to its last line, docstring included.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import interpret_widgets

WIDGETS = Path(interpret_widgets.__file__).parent / "widgets"
MAX_MODULE_LINES = 350
MAX_FUNCTION_LINES = 50
MODULES = sorted(WIDGETS.rglob("*.py"))


def function_sizes(path: Path) -> dict[str, int]:
    """``{"Class.method" or "function": lines}`` of every function defined in ``path``."""
    sizes: dict[str, int] = {}

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                name = f"{prefix}{child.name}"
                sizes[f"{name}:{child.lineno}"] = child.end_lineno - child.lineno + 1
                visit(child, f"{name}.")
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")
            else:
                visit(child, prefix)

    visit(ast.parse(path.read_text(encoding="utf-8")), "")
    return sizes


def test_the_widgets_folder_is_measured():
    assert len(MODULES) > 20 and (WIDGETS / "components").is_dir()
    assert any(p.parent.name == "components" for p in MODULES)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(WIDGETS)))
def test_module_and_function_sizes(path: Path):
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_MODULE_LINES, f"{path.name} has {lines} lines (> {MAX_MODULE_LINES})"
    long = {n: s for n, s in function_sizes(path).items() if s > MAX_FUNCTION_LINES}
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines in {path.name}: {long}"


def test_the_measure_counts_nested_and_decorated_functions(tmp_path: Path):
    source = tmp_path / "sample.py"
    body = "\n".join(f"    x{i} = {i}" for i in range(3))
    source.write_text(
        "class A:\n    @property\n    def f(self):\n" + body.replace("    ", "        ")
        + "\n        def g():\n            return 1\n        return g\n"
    )
    sizes = function_sizes(source)
    assert sizes == {"A.f:3": 7, "A.f.g:7": 2}
