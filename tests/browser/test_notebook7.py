"""The quickstart Dashboard in Notebook 7 (``jupyter notebook``): scenarios 1 and 2.

The notebook is a copy of the repo's ``notebooks/quickstart.ipynb`` under a temporary server
root, opened at ``/notebooks/<path>`` and run with Run → Run All Cells.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from . import scenarios
from .conftest import jupyter_server
from .helpers import (
    DASHBOARD_TIMEOUT_MS,
    assert_no_error_outputs,
    open_notebook,
    run_all_cells,
    shot,
    wait_cells_done,
    wait_widget_or_fail,
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def notebook_page(workdir: Path, open_page: object, artifacts: object) -> Iterator[object]:
    server = jupyter_server("notebook", workdir, "notebook7")
    page = open_page("notebook7-quickstart")
    try:
        open_notebook(page, server, "notebooks/quickstart.ipynb", app="notebook")
        run_all_cells(page)
        wait_widget_or_fail(page, ".iw-dashboard", DASHBOARD_TIMEOUT_MS)
        wait_cells_done(page)
        yield page
    finally:
        page.close()
        server.stop()


def test_notebook7_renders_dashboard(notebook_page: object) -> None:
    """Scenario 1 in Notebook 7."""
    assert_no_error_outputs(notebook_page)
    scenarios.check_dashboard_renders(notebook_page, "notebook7")


def test_notebook7_class_bar_click(notebook_page: object) -> None:
    """Scenario 2 in Notebook 7."""
    scenarios.check_class_bar_click(notebook_page, "notebook7")
    shot(notebook_page, "notebook7-page")
