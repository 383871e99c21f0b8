"""The HTML report opened in a real headless Chromium: it renders, with its plots, without errors.

Chromium is driven over the DevTools protocol (a websocket): the page is loaded from a file,
then the test asks the browser itself whether every image decoded (non-zero natural size) and
collects every console message, uncaught exception and log entry of level error (a resource
that failed to load, e.g. anything fetched from the network, is one).

In CI (env CI set) a missing Chromium is a failure: `.ci/run` installs Debian's `chromium`.
Elsewhere the test skips and says how to install it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dist_bench.report import exporter_for
from dist_bench.report.content import ReportData
from dist_bench.report.plot import panel_images, plotted_workloads
from dist_bench.results import Results

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
#: The longest the browser may take to start and to load the page (generous: the CPU is shared).
DEADLINE_S = 60.0


def _browser() -> str:
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    reason = "no Chromium found (apt-get install chromium)"
    if os.environ.get("CI"):
        pytest.fail(f"{reason}: CI must have it (.ci/run installs it)")
    pytest.skip(reason)


class DevTools:
    """A minimal DevTools protocol client: numbered commands, events collected as they come."""

    def __init__(self, websocket_url: str) -> None:
        import websocket

        self.socket = websocket.create_connection(websocket_url, timeout=DEADLINE_S)
        self.events: list[dict[str, Any]] = []
        self._next_id = 0

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self._next_id += 1
        self.socket.send(json.dumps({"id": self._next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == self._next_id:
                assert "error" not in message, message
                result: dict[str, Any] = message["result"]
                return result
            self.events.append(message)

    def wait_for(self, method: str) -> dict[str, Any]:
        deadline = time.monotonic() + DEADLINE_S
        while time.monotonic() < deadline:
            for event in self.events:
                if event.get("method") == method:
                    return event
            self.events.append(json.loads(self.socket.recv()))
        raise AssertionError(f"no {method} within {DEADLINE_S} s")

    def evaluate(self, expression: str) -> Any:
        reply = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return reply["result"]["value"]


@pytest.fixture
def devtools(tmp_path: Path) -> Iterator[DevTools]:
    profile = tmp_path / "profile"
    process = subprocess.Popen(
        [
            _browser(),
            "--headless=new",
            "--no-sandbox",  # tests run as root here
            "--disable-gpu",
            "--no-first-run",
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0",  # a free port; Chromium writes which to the profile
            f"--user-data-dir={profile}",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + DEADLINE_S
        while not (port_file.exists() and port_file.read_text().strip()):
            assert process.poll() is None, f"chromium exited with {process.returncode}"
            assert time.monotonic() < deadline, "chromium did not open its DevTools port"
            time.sleep(0.1)
        port = port_file.read_text().split()[0]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as reply:
            targets = json.load(reply)
        page = next(t for t in targets if t["type"] == "page")
        client = DevTools(page["webSocketDebuggerUrl"])
        yield client
        client.socket.close()
    finally:
        os.killpg(process.pid, signal.SIGTERM)  # the browser and its helpers, started here
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_the_html_report_renders_with_its_plots_and_no_errors(
    swept_results: Results, tmp_path: Path, devtools: DevTools
) -> None:
    pytest.importorskip("matplotlib")
    from dist_bench.costmodel import analyse

    # With the cutover analysis, so its sections (crossovers, fits, folded rows) render too.
    data = ReportData(swept_results, analyse(swept_results, project_nodes=(2, 4)))
    page = tmp_path / "report.html"
    page.write_bytes(exporter_for("html").load()(data))
    expected_images = sum(len(panel_images(data, w, "svg")) for w in plotted_workloads(data))
    assert expected_images > 0

    for domain in ("Page", "Runtime", "Log"):
        devtools.call(f"{domain}.enable")
    devtools.call("Page.navigate", url=page.as_uri())
    devtools.wait_for("Page.loadEventFired")

    images = devtools.evaluate(
        "Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.naturalHeight,"
        " i.getBoundingClientRect().width])"
    )
    assert len(images) == expected_images
    for complete, natural_width, natural_height, shown_width in images:
        assert complete and natural_width > 0 and natural_height > 0, images
        assert shown_width > 100, "a plot is laid out too small to read"
    assert devtools.evaluate("document.querySelectorAll('table').length") >= 3
    assert devtools.evaluate("document.body.innerText").count("Fitted costs") == 1
    assert devtools.evaluate("document.title").startswith("dist-bench report")
    # The page is wider than nothing and not wider than the window: nothing overflows the layout.
    body_width, window_width = devtools.evaluate(
        "[document.documentElement.scrollWidth, window.innerWidth]"
    )
    assert 0 < body_width <= window_width

    problems = [
        event
        for event in devtools.events
        if event.get("method") in ("Runtime.exceptionThrown",)
        or (
            event.get("method") == "Runtime.consoleAPICalled"
            and event["params"]["type"] in ("error", "warning", "assert")
        )
        or (
            event.get("method") == "Log.entryAdded"
            and event["params"]["entry"]["level"] in ("error", "warning")
        )
    ]
    assert not problems, problems
