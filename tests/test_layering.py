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
