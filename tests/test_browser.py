"""A real browser: headless Chromium against `streamlit run app.py` on a local port."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.model]
ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _browser_paths() -> tuple[str, str]:
    chrome = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    driver = shutil.which("chromedriver")
    if not chrome or not driver:
        pytest.skip("no Chromium + ChromeDriver here: `apt-get install chromium chromium-driver` (./run tests does it as root)")
    return chrome, driver


@pytest.fixture
def served_app(real_index):
    port = _free_port()
    env = dict(os.environ, POLICYQA_INDEX=str(real_index.folder), POLICYQA_CORPUS=str(real_index.settings.corpus))
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).status == 200:
                    break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("streamlit did not come up in 60 s")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_ask_in_a_real_browser(served_app, tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    chrome, driver_path = _browser_paths()
    opts = webdriver.ChromeOptions()
    opts.binary_location = chrome
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1400,1800", f"--user-data-dir={tmp_path / 'profile'}"):
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service(driver_path), options=opts)
    try:
        driver.get(served_app)
        box = WebDriverWait(driver, 120).until(ec.element_to_be_clickable((By.CSS_SELECTOR, "input[aria-label^='Question']")))
        box.send_keys("哪些地区提出了9.5%的增长目标?", Keys.ENTER)
        WebDriverWait(driver, 120).until(
            lambda d: "岳池县（全年" in d.find_element(By.TAG_NAME, "body").text
        )
        body = driver.find_element(By.TAG_NAME, "body").text
        assert "广安区（一季度" in body and "岳池县（全年" in body
        shot = Path(os.environ.get("POLICYQA_SCREENSHOT", tmp_path / "screenshot.png"))
        shot.parent.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(shot))
        assert shot.stat().st_size > 10_000
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def hostile_index(tmp_path_factory):
    """The seed corpus plus files whose names, titles and bodies carry HTML, script and Markdown images."""
    from retrieval.index import build_index
    from retrieval.settings import Settings

    base = tmp_path_factory.mktemp("hostile-browser")
    corpus = base / "corpus"
    shutil.copytree(ROOT / "corpus", corpus)
    odd = corpus / "![p](https:" / "evil.example:8766"
    odd.mkdir(parents=True)
    (odd / "p.png).txt").write_text(
        '<img src="http://evil.example/t.png" onerror="alert(1)">广安区工业投资标题\n\n'
        "广安区规上工业增加值增长百分之九，![x](http://evil.example/m.png) <script>alert('x')</script>。",
        encoding="utf-8")
    (corpus / "<b onmouseover=alert(2)>名.md").write_text(
        "# [链接](javascript:alert(3))\n\n岳池县新签约项目<iframe src=http://evil.example/f></iframe>12个。",
        encoding="utf-8")
    (corpus / "binary.txt").write_bytes(b"\x00" * 4096)
    settings = Settings(corpus=corpus, index=base / "index")
    build_index(settings, progress=False)
    return settings


def test_hostile_text_fires_no_alert_and_fetches_nothing_foreign(hostile_index, tmp_path):
    from urllib.parse import urlparse

    from selenium import webdriver
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    chrome, driver_path = _browser_paths()
    port = _free_port()
    env = dict(os.environ, POLICYQA_INDEX=str(hostile_index.index), POLICYQA_CORPUS=str(hostile_index.corpus))
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    opts = webdriver.ChromeOptions()
    opts.binary_location = chrome
    opts.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1400,1800", f"--user-data-dir={tmp_path / 'profile'}"):
        opts.add_argument(flag)
    driver = None
    try:
        for _ in range(120):
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).status == 200:
                    break
            except OSError:
                time.sleep(0.5)
        driver = webdriver.Chrome(service=Service(driver_path), options=opts)
        driver.get(url)
        box = WebDriverWait(driver, 120).until(ec.element_to_be_clickable((By.CSS_SELECTOR, "input[aria-label^='Question']")))
        box.send_keys("广安区工业投资 岳池县新签约项目", Keys.ENTER)
        WebDriverWait(driver, 120).until(lambda d: "Passages" in d.find_element(By.TAG_NAME, "body").text)
        body = driver.find_element(By.TAG_NAME, "body").text
        for tab in driver.find_elements(By.CSS_SELECTOR, "button[role='tab']"):
            tab.click()
            time.sleep(2)
        assert "evil.example" in body  # the hostile markup is on the page as text, not as elements
        try:
            alert = driver.switch_to.alert
            pytest.fail(f"an alert fired: {alert.text!r}")
        except NoAlertPresentException:
            pass
        import json

        foreign = set()
        for entry in driver.get_log("performance"):
            msg = json.loads(entry["message"])["message"]
            if msg.get("method") != "Network.requestWillBeSent":
                continue
            target = urlparse(msg["params"]["request"]["url"])
            if target.scheme in ("http", "https", "ws", "wss") and target.hostname not in ("127.0.0.1", "localhost"):
                foreign.add(target.geturl())
        assert not foreign, f"requests left for other hosts: {sorted(foreign)}"
    finally:
        if driver is not None:
            driver.quit()
        proc.terminate()
        proc.wait(timeout=20)
