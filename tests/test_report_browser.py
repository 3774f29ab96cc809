"""The report page of a real demo crawl, opened from a local file in headless Chromium and checked as rendered.

Chromium (Debian package `chromium`, installed by scripts/install-test-services.sh) is driven over the Chrome
DevTools Protocol on loopback with `websocket-client`; a full-page screenshot is kept in test-artifacts/.
"""

from __future__ import annotations

import base64
import json
import math
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import websocket

from demo.site import DemoSite, serve
from tests.test_crawl import TOPIC, CrawlResult, crawl

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--hide-scrollbars", "--remote-debugging-port=0", "--window-size=1280,900",
]  # fmt: skip
WIDTH = 1280


class Chromium:
    """A headless Chromium and one page, driven over the DevTools protocol (a websocket on 127.0.0.1)."""

    def __init__(self, profile: Path) -> None:
        binary = shutil.which("chromium")
        if binary is None:
            raise RuntimeError("chromium is not installed; run scripts/install-test-services.sh")
        self.log = (profile.parent / "chromium.log").open("wb")
        self.process = subprocess.Popen(
            [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        port = self._devtools_port(profile / "DevToolsActivePort")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as answer:
            page = next(target for target in json.load(answer) if target["type"] == "page")
        self.socket = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=30, suppress_origin=True)
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def _devtools_port(self, path: Path, timeout: float = 30) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"chromium exited with {self.process.returncode}; see {self.log.name}")
            if path.is_file() and path.read_text().strip():
                return int(path.read_text().split()[0])
            time.sleep(0.1)
        raise RuntimeError(f"chromium did not open its DevTools port in {timeout} s; see {self.log.name}")

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        """Call one DevTools method and return its result; events received meanwhile are kept."""
        self.next_id += 1
        self.socket.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message["result"]
            self.events.append(message)

    def open(self, url: str) -> None:
        """Navigate and wait for the load event."""
        self.send("Page.enable")
        self.events.clear()
        self.send("Page.navigate", url=url)
        while not any(event.get("method") == "Page.loadEventFired" for event in self.events):
            self.events.append(json.loads(self.socket.recv()))

    def evaluate(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self, path: Path) -> None:
        """The whole page, not only the window."""
        height = math.ceil(self.send("Page.getLayoutMetrics")["cssContentSize"]["height"])
        self.send("Emulation.setDeviceMetricsOverride", width=WIDTH, height=height, deviceScaleFactor=1, mobile=False)
        data = self.send("Page.captureScreenshot", format="png", captureBeyondViewport=True)["data"]
        path.write_bytes(base64.b64decode(data))

    def close(self) -> None:
        self.socket.close()
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


@pytest.fixture(scope="module")
def site() -> Iterator[DemoSite]:
    with serve(day=1) as demo:
        yield demo


@pytest.fixture(scope="module")
def demo_crawl(site: DemoSite, tmp_path_factory: pytest.TempPathFactory) -> CrawlResult:
    seeds = site.write_seeds(tmp_path_factory.mktemp("seeds") / "demo.yaml", keywords=TOPIC, since="2023-01-01")
    result = crawl(seeds, tmp_path_factory.mktemp("out"))
    assert result.returncode == 0, result.log[-3000:]
    return result


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chromium]:
    chromium = Chromium(tmp_path_factory.mktemp("chromium") / "profile")
    yield chromium
    chromium.close()


# Reads the rendered page: what a person sees, with the sizes the layout gave it.
RENDERED = """(() => {
  const visible = (el) => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
  const svg = document.querySelector('#timeline');
  const box = svg ? svg.getBoundingClientRect() : null;
  return {
    title: document.title,
    banner: document.querySelector('.banner').innerText,
    health: [...document.querySelectorAll('#health tbody tr')].map((row) => ({
      site: row.querySelector('.site').innerText,
      verdict: row.querySelector('.badge').innerText,
      visible: visible(row),
    })),
    timeline: box && {width: box.width, height: box.height,
                      rows: [...svg.querySelectorAll('text.row')].map((t) => t.textContent),
                      dots: [...svg.querySelectorAll('.dot')].filter(visible).length},
    clusters: [...document.querySelectorAll('.cluster')].map((card) => ({
      kept: card.querySelector('.kept a').getAttribute('href'),
      visible: visible(card),
      copies: [...card.querySelectorAll('.copies tbody tr')].map((row) => [...row.cells].map((c) => c.innerText)),
    })),
    scripts: document.scripts.length,
    resources: performance.getEntriesByType('resource').length,
    width: document.documentElement.scrollWidth,
  };
})()"""


def test_the_report_of_a_demo_crawl_renders_health_coverage_and_copies(
    site: DemoSite, demo_crawl: CrawlResult, browser: Chromium
) -> None:
    page = next(demo_crawl.output.rglob("report.html"))
    browser.open(page.resolve().as_uri())
    shown = browser.evaluate(RENDERED)
    ARTIFACTS.mkdir(exist_ok=True)
    browser.screenshot(ARTIFACTS / "report-demo.png")

    assert shown["title"].startswith("Crawl report: demo")
    assert shown["scripts"] == 0 and shown["resources"] == 0, "self-contained: no script, nothing loaded"
    assert shown["width"] <= WIDTH, "no horizontal scrolling at 1280 px"
    assert sorted(row["site"] for row in shown["health"]) == sorted(outlet.name for outlet in site.outlets)
    assert all(row["visible"] and row["verdict"] in {"Healthy", "Warning", "Unhealthy"} for row in shown["health"])

    timeline = shown["timeline"]
    assert timeline and timeline["width"] > 600 and timeline["height"] > 100
    assert set(timeline["rows"]) == {story.outlet for story in site.stories}, "one row per outlet with coverage"
    assert timeline["dots"] >= len({(s.outlet, s.published) for s in site.stories}) - 1

    exact = next(s for s in site.stories for c in s.copies if c.kind == "exact")
    copy = next(c for c in exact.copies if c.kind == "exact")
    cluster = next(c for c in shown["clusters"] if c["kept"] == exact.url)
    assert cluster["visible"]
    outlet, url, similarity, why = next(row for row in cluster["copies"] if row[1] == copy.url)
    aggregator = next(o.name for o in site.outlets if copy.url.startswith(o.base_url))
    assert (outlet, similarity, why) == (aggregator, "100%", "identical text")
