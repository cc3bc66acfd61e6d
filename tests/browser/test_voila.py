"""The quickstart Dashboard served by Voila, exactly as the README says: scenarios 1 and 2.

``voila notebooks/quickstart.ipynb`` is run from the repository root with the venv's ``bin``
first on ``PATH``; Voila executes the notebook for the page and only the widgets show.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from . import scenarios
from .conftest import voila_server
from .helpers import (
    DASHBOARD_TIMEOUT_MS,
    REPO,
    assert_no_error_outputs,
    shot,
    wait_widget_or_fail,
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def voila_page(open_page: object, artifacts: object) -> Iterator[object]:
    server = voila_server("notebooks/quickstart.ipynb", REPO, "voila")
    page = open_page("voila-quickstart")
    try:
        page.goto(server.url("/"), timeout=DASHBOARD_TIMEOUT_MS)
        wait_widget_or_fail(page, ".iw-dashboard", DASHBOARD_TIMEOUT_MS)
        yield page
    finally:
        page.close()
        server.stop()


def test_voila_renders_dashboard(voila_page: object) -> None:
    """Scenario 1 in Voila: only the widgets show, the Dashboard paints, the volume renders."""
    page = voila_page
    source = page.get_by_text("build_demo_dashboard(").filter(visible=True)
    assert source.count() == 0, "Voila shows the notebook's source code"
    assert_no_error_outputs(page)
    scenarios.check_dashboard_renders(page, "voila")


def test_voila_class_bar_click(voila_page: object) -> None:
    """Scenario 2 in Voila: a bar click reaches the kernel and comes back as a new heatmap."""
    scenarios.check_class_bar_click(voila_page, "voila")
    shot(voila_page, "voila-page")
