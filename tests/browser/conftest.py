"""Fixtures for the end-to-end browser suite: servers, headless Chromium, watched pages.

The recipe is the one written down in ``shared/BROWSER_TESTING.md``: JupyterLab, Notebook 7
and Voila are started from the running interpreter's ``bin`` directory on 127.0.0.1 with a
random free port and a token, in their own session so that ``os.killpg`` takes their kernels
with them; Debian's Chromium is driven through Playwright with the flags that keep WebGL
(SwiftShader) alive and the network quiet.

Every page is watched: an uncaught page error, or a console error that is not on the short
list of known-harmless noise, fails the test that was running when it happened.

The suite is skipped, with the reason, only when ``/usr/bin/chromium`` is missing and ``CI``
is unset; in CI a missing browser is an error.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .helpers import ARTIFACTS, REPO, ConsoleWatch, shot

CHROMIUM = Path("/usr/bin/chromium")
BIN = Path(sys.executable).parent
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-unsafe-swiftshader",
]
VIEWPORT = {"width": 1280, "height": 2200}
LAB_OVERRIDES = {
    "@jupyterlab/apputils-extension:notification": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    "@jupyterlab/notebook-extension:tracker": {"windowingMode": "none"},
}
SERVER_START_TIMEOUT = 90.0


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip this directory's tests when there is no browser here and we are not in CI."""
    if CHROMIUM.exists() or _in_ci():
        return
    skip = pytest.mark.skip(
        reason=f"{CHROMIUM} is missing (install Debian's chromium); CI is not set, so the "
        "browser suite is skipped"
    )
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(skip)


# --------------------------------------------------------------------------- servers


def free_port() -> int:
    """A TCP port that was free on 127.0.0.1 a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env() -> dict[str, str]:
    """The environment for servers and their kernels.

    The venv's ``bin`` goes first on ``PATH``; the working tree goes first on ``PYTHONPATH``
    so that kernels import the code under test, installed or not; TensorFlow's start-up
    chatter is silenced so it does not show as red text in notebook outputs.
    """
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    env["TF_ENABLE_ONEDNN_OPTS"] = "0"
    env["JUPYTER_PLATFORM_DIRS"] = "1"
    env["PYTHONUNBUFFERED"] = "1"
    env.pop("JUPYTER_TOKEN", None)
    return env


def write_lab_overrides() -> Path:
    """Merge our settings into ``<prefix>/share/jupyter/lab/settings/overrides.json``.

    No news or update toast over screenshots; no notebook windowing, so that cells scrolled
    out of view stay attached to the DOM.
    """
    path = Path(sys.prefix) / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    current: dict = {}
    if path.exists():
        with contextlib.suppress(ValueError):
            current = json.loads(path.read_text())
    merged = dict(current)
    for plugin, settings in LAB_OVERRIDES.items():
        merged[plugin] = {**current.get(plugin, {}), **settings}
    if merged != current:
        path.write_text(json.dumps(merged, indent=2) + "\n")
    return path


def _descendants(pid: int) -> list[int]:
    """Every live process below ``pid`` (read from /proc), so none outlives the server."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


class Server:
    """One Jupyter server or Voila process started by the tests."""

    def __init__(
        self, name: str, argv: list[str], cwd: Path, port: int, token: str, ready_path: str
    ) -> None:
        self.name, self.argv, self.cwd = name, argv, cwd
        self.port, self.token, self.ready_path = port, token, ready_path
        self.base = f"http://127.0.0.1:{port}"
        self.log_path = ARTIFACTS / "logs" / f"{name}.log"
        self.process: subprocess.Popen | None = None

    def url(self, path: str = "/") -> str:
        """``path`` on this server with the token in the query string."""
        sep = "&" if "?" in path else "?"
        return f"{self.base}{path}{sep}token={self.token}"

    def start(self, timeout: float = SERVER_START_TIMEOUT) -> Server:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            self.argv,
            cwd=self.cwd,
            env=server_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"{self.name} exited with {self.process.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(self.url(self.ready_path), timeout=5) as reply:
                    if reply.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.25)
        self.stop()
        pytest.fail(f"{self.name} was not ready within {timeout:.0f} s:\n{self.log()}")

    def api(self, method: str, path: str) -> object:
        """Call the Jupyter REST API; returns the decoded JSON (or None)."""
        request = urllib.request.Request(self.url(path), method=method)
        with urllib.request.urlopen(request, timeout=30) as reply:
            body = reply.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self) -> None:
        """Shut every kernel of a Jupyter server down (frees memory between scenarios)."""
        for kernel in self.api("GET", "/api/kernels") or []:
            with contextlib.suppress(urllib.error.URLError):
                self.api("DELETE", f"/api/kernels/{kernel['id']}")

    def log(self, tail: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-tail:]
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        process = self.process
        if process is None or process.poll() is not None:
            return
        below = _descendants(process.pid)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
        # Kernels may run in sessions of their own: end any the server left behind.
        for pid in below:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGTERM)


def jupyter_server(kind: str, root: Path, name: str) -> Server:
    """A JupyterLab (``kind="lab"``) or Notebook 7 (``kind="notebook"``) server over ``root``."""
    if kind == "lab":
        write_lab_overrides()
    port, token = free_port(), uuid.uuid4().hex
    state = root.parent / f".{name}-state"
    state.mkdir(exist_ok=True)
    argv = [
        str(BIN / "jupyter"),
        kind,
        "--no-browser",
        "--allow-root",
        "--ip=127.0.0.1",
        f"--port={port}",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.runtime_dir={state / 'runtime'}",
    ]
    if kind == "lab":
        argv += [
            f"--LabApp.workspaces_dir={state / 'workspaces'}",
            f"--LabApp.user_settings_dir={state / 'settings'}",
        ]
    return Server(name, argv, root, port, token, "/api/status").start()


def voila_server(notebook: str, cwd: Path, name: str) -> Server:
    """``voila <notebook>`` run from ``cwd`` (the README's command), ready when it renders.

    Voila executes the notebook before it answers the first request, so readiness is the
    page itself and may take as long as the notebook's cells.
    """
    port, token = free_port(), uuid.uuid4().hex
    argv = [
        str(BIN / "voila"),
        "--no-browser",
        f"--port={port}",
        "--Voila.ip=127.0.0.1",
        f"--token={token}",
        notebook,
    ]
    return Server(name, argv, cwd, port, token, "/voila/static/voila.js").start()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """``test-artifacts/browser`` in the working tree.

    Screenshots are overwritten by name, never swept: runs of single modules (or two runs
    at once) keep each other's pictures.
    """
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh folder per module with the repo's ``notebooks/`` and our own notebooks.

    Servers work on copies, so nothing the browser does (autosave included) can write into
    the working tree that other people are editing.
    """
    root = tmp_path_factory.mktemp("browser") / "root"
    shutil.copytree(REPO / "notebooks", root / "notebooks", ignore=_ignore_checkpoints)
    shutil.copytree(Path(__file__).parent / "notebooks", root / "own", ignore=_ignore_checkpoints)
    return root


def _ignore_checkpoints(_dir: str, names: list[str]) -> list[str]:
    return [n for n in names if n == ".ipynb_checkpoints"]


# --------------------------------------------------------------------------- browser


@pytest.fixture(scope="session")
def browser(artifacts: Path) -> Iterator[object]:
    """Headless Debian Chromium through Playwright (never a downloaded browser)."""
    if not CHROMIUM.exists():
        pytest.fail(f"CI is set but {CHROMIUM} is missing: install Debian's chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as error:  # pragma: no cover - depends on the environment
        if _in_ci():
            pytest.fail(f"playwright is not importable in CI: {error}")
        pytest.skip(f"playwright is not importable: {error}")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


_WATCHES: list[ConsoleWatch] = []


@pytest.fixture(scope="session")
def open_page(browser: object) -> Iterator[Callable[..., object]]:
    """A factory of watched pages (tall viewport, outside requests aborted).

    Pages live until the end of the session unless the caller closes them; each one's
    console is checked after every test by :func:`_no_console_errors`, a closed page's for
    the last time.
    """
    contexts = []

    def factory(name: str) -> object:
        context = browser.new_context(viewport=VIEWPORT, device_scale_factor=1)
        contexts.append(context)
        # No network here: fail outside requests at once (Voila's CDN fonts) instead of
        # waiting on them; the resulting console lines are filtered by ConsoleWatch.
        context.route(re.compile(r"^https?://(?!127\.0\.0\.1[:/])"), lambda route: route.abort())
        page = context.new_page()
        page.set_default_timeout(30_000)
        _WATCHES.append(ConsoleWatch(page, name))
        return page

    yield factory
    for context in contexts:
        with contextlib.suppress(Exception):
            context.close()


@pytest.fixture
def test_pages(open_page: Callable[..., object]) -> Iterator[Callable[..., object]]:
    """Like ``open_page``, but every page it makes is closed when the test ends, passed or
    failed, so that no page outlives its server and logs its lost connection later."""
    pages = []

    def factory(name: str) -> object:
        pages.append(open_page(name))
        return pages[-1]

    yield factory
    for page in pages:
        with contextlib.suppress(Exception):
            page.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> object:
    """Keep each phase's report on the item, so fixtures can see whether the test failed."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    if report.when == "call" and report.failed:
        # Evidence for CI: every open page as it was, before teardown closes the test's own.
        for watch in list(_WATCHES):
            if not watch.page.is_closed():
                with contextlib.suppress(Exception):
                    shot(watch.page, f"FAILED-{item.name}-{watch.name}")
    return report


@pytest.fixture(autouse=True)
def _no_console_errors() -> Iterator[None]:
    """Fail the running test on a page error or a console error from any watched page.

    Errors are checked after each test; anything raised while a module fixture drove a page
    (running a notebook) is reported by the first test that uses it.
    """
    yield
    found = [line for watch in list(_WATCHES) for line in watch.take()]
    _WATCHES[:] = [watch for watch in _WATCHES if not watch.page.is_closed()]
    if found:
        pytest.fail("JavaScript errors in the page:\n" + "\n".join(found), pytrace=False)
