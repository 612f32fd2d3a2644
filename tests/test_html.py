"""The HTML report: self-contained, and rendered by a real headless browser (Debian's Chromium)."""

import os
import re
import shutil
import subprocess

import pytest

from tests.conftest import bench

TREES = ["tests/fixtures/golden-run", "tests/fixtures/golden-timeouts"]
REMOTE = re.compile(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//|url\(\s*["']?(?:https?:)?//|@import""", re.I)


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    path = tmp_path_factory.mktemp("html") / "report.html"
    bench("report", *TREES, "--format", "html", "--output", path)
    return path


@pytest.mark.unit
def test_page_is_self_contained(page):
    text = page.read_text()
    assert not REMOTE.search(text), REMOTE.search(text)
    assert text.count("<svg") == 2  # verdict grid and overhead of the one device
    for heading in ("Summary: one row per TF version", "Every cell", "Across TF versions"):
        assert heading in text
    assert "golden-fixture" in text  # the machine, from machine.json


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    if os.environ.get("BENCH_REQUIRE_BROWSER") == "1":
        pytest.fail("no Chromium on this machine (apt-get install chromium)")
    pytest.skip("no Chromium on this machine (apt-get install chromium)")


@pytest.mark.engine
def test_page_renders_offline_in_headless_chromium(page, tmp_path):
    from matplotlib.image import imread
    screenshot = tmp_path / "report.png"
    # No network at all: the page must render from the file alone.
    subprocess.run([chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}", "--proxy-server=127.0.0.1:9",
                    "--window-size=1400,1800", f"--screenshot={screenshot}", page.as_uri()],
                   capture_output=True, timeout=120, check=True)
    pixels = imread(screenshot)
    assert pixels.shape[:2] == (1800, 1400)
    coloured = ((abs(pixels[..., 0] - pixels[..., 1]) > 0.2) | (abs(pixels[..., 1] - pixels[..., 2]) > 0.2)).mean()
    dark = (pixels[..., :3].mean(axis=2) < 0.3).mean()
    assert coloured > 0.01, "no coloured verdict cells drawn"   # green/red cells of the grid
    assert dark > 0.003, "no text drawn"
