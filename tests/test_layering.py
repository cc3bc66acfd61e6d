"""Importing the computation layer must not load any widget library."""

from __future__ import annotations

import subprocess
import sys


def test_methods_import_loads_no_widget_library():
    code = (
        "import sys, interpret_widgets.methods, interpret_widgets.render, "
        "interpret_widgets.model, interpret_widgets.demo\n"
        "bad = [m for m in ('ipywidgets', 'bqplot', 'ipyvolume') "
        "if m in sys.modules]\n"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_render_imports_no_tensorflow():
    code = (
        "import sys, interpret_widgets.render\n"
        "sys.exit(1 if 'tensorflow' in sys.modules or 'keras' in sys.modules else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_widget_classes_are_lazy_top_level_names():
    code = (
        "import sys, interpret_widgets\n"
        "assert 'ipywidgets' not in sys.modules\n"
        "from interpret_widgets import Dashboard\n"
        "assert 'ipywidgets' in sys.modules and Dashboard.__name__ == 'Dashboard'"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def _private_adapter_names() -> set[str]:
    """The private names of the model adapter: its ``_methods`` and ``self._attributes``."""
    import re
    from pathlib import Path

    import interpret_widgets.model.adapter as adapter_module

    source = Path(adapter_module.__file__).read_text()
    names = set(re.findall(r"self\.(_[a-z]\w*)", source)) | set(
        re.findall(r"def (_[a-z]\w*)", source)
    )
    return {n for n in names if not n.startswith("__")}


def test_widgets_use_no_keras_and_no_private_adapter_name():
    """Widgets -> methods / model public API -> keras: no shortcut down the layers."""
    import ast
    from pathlib import Path

    import interpret_widgets.widgets as widgets_package

    private = _private_adapter_names()
    assert "_probe" in private  # the check reads the adapter's source
    problems = []
    for path in sorted(Path(widgets_package.__file__).parent.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                modules = [node.module or ""] if node.level == 0 else []
            else:
                modules = []
            for module in modules:
                if module.split(".")[0] in ("keras", "tensorflow"):
                    problems.append(f"{path.name}:{node.lineno} imports {module}")
            if isinstance(node, ast.Attribute) and node.attr in private:
                owner = node.value
                if not (isinstance(owner, ast.Name) and owner.id in ("self", "cls")):
                    problems.append(f"{path.name}:{node.lineno} uses the adapter's {node.attr}")
    assert not problems, "\n".join(problems)
