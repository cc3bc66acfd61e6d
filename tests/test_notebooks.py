"""Every notebook in ``notebooks/`` runs headless from top to bottom without an error.

The notebooks are stored without outputs and with the ``python3`` kernel. Each one is run
in a fresh kernel by nbclient, with a time limit per cell; a few checks appended at the end
ask the live widgets whether they are in an error state, which an exception alone would
not reveal (the widgets turn errors into status lines).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
CELL_TIMEOUT = 180

#: Code appended to a notebook before it runs: widget states that must hold at the end.
CHECKS = {
    "quickstart.ipynb": (
        "assert dashboard.status.state == 'ok', dashboard.status.message\n"
        "assert list(dashboard.panels) == ['Activations'], list(dashboard.panels)\n"
        "cam = dashboard.show('Grad-CAM')\n"
        "assert dashboard.wait(120)\n"
        "assert cam.status.state == 'ok', cam.status.message\n"
        "assert len(cam.main.heatmap.value) > 0"
    ),
    "seminar.ipynb": (
        "assert cam.wait(120)\n"
        "assert cam.status.state == 'ok', cam.status.message\n"
        "assert cam.compare_target >= 0 and len(cam.second.heatmap.value) > 0"
    ),
    "clever_hans.ipynb": (
        "assert agreement >= 0.9, agreement\n"
        "assert len(result) == int((labels == hans).sum())\n"
        "assert recall_of(fixed, clean[of_class]) > recall_of(model, clean[of_class])"
    ),
    "bring_your_own_model.ipynb": (
        "assert getattr(dashboard, 'wait', lambda timeout: True)(300)  # background work\n"
        "cam = dashboard.panels['Grad-CAM']\n"
        "assert dashboard.wait(120)\n"
        "assert cam.status.state == 'ok', cam.status.message\n"
        "assert len(getattr(cam, 'main', cam).heatmap.value) > 0\n"
        "assert cam.layer == tutorial.layers[-4].name, cam.layer  # the last 12×12 output\n"
        "assert np.isfinite(lrp(efficientnet, images[:1])).all()"
    ),
}


def _notebooks() -> list[Path]:
    return sorted(NOTEBOOKS.glob("*.ipynb"))


def test_every_notebook_has_checks():
    assert {p.name for p in _notebooks()} == set(CHECKS)


@pytest.mark.parametrize("path", _notebooks(), ids=lambda p: p.stem)
def test_notebook_is_stored_clean(path: Path):
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    assert notebook.metadata["kernelspec"]["name"] == "python3"
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, "saved with outputs"


def _client(path: Path) -> NotebookClient:
    notebook = nbformat.read(path, as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell(CHECKS[path.name]))
    return NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        allow_errors=False,
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )


@pytest.fixture(scope="module")
def executed() -> dict[str, nbformat.NotebookNode | BaseException]:
    """All notebooks run concurrently, each in its own kernel (they mostly wait on imports)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    # No download attempts from the kernels: CI reaches no host but the package registries.
    os.environ["INTERPRET_WIDGETS_OFFLINE"] = "1"
    clients = {path.name: _client(path) for path in _notebooks()}

    async def run_all() -> list:
        return await asyncio.gather(
            *(client.async_execute() for client in clients.values()), return_exceptions=True
        )

    # In a thread of its own: an event loop may already run in this one (Playwright's sync
    # API keeps one for the browser suite's session).
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        results = pool.submit(asyncio.run, run_all()).result()
    return dict(zip(clients, results, strict=True))


@pytest.mark.parametrize("path", _notebooks(), ids=lambda p: p.stem)
def test_notebook_runs_without_error(path: Path, executed):
    result = executed[path.name]
    if isinstance(result, BaseException):
        raise result
    errors = [
        output
        for cell in result.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.output_type == "error"
    ]
    assert errors == []
