"""A hostile corpus for the browser and one visit of the app with it: shared by tests/test_browser.py
and scripts/browser_hostile.py (which prints the counts)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from conftest import free_port

ROOT = Path(__file__).resolve().parent.parent


def make_hostile_corpus(base: Path, seed_index: Path | None = None) -> tuple[Path, Path]:
    """The seed corpus plus files whose names, titles and bodies carry HTML, script and Markdown
    images, built with the real model; returns (corpus, index). With ``seed_index`` (the seeds
    already indexed with the real model) the build starts from a copy of it, so only the hostile
    files are read and embedded."""
    from retrieval.index import build_index
    from retrieval.settings import Settings

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
    if seed_index is not None:
        shutil.copytree(seed_index, base / "index")
    settings = Settings(corpus=corpus, index=base / "index")
    build_index(settings, progress=False)
    return corpus, base / "index"


@contextmanager
def served(corpus: Path, index: Path):
    """`streamlit run app.py` on 127.0.0.1 and a free port; yields its URL."""
    port = free_port()
    env = dict(os.environ, POLICYQA_INDEX=str(index), POLICYQA_CORPUS=str(corpus))
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).status == 200:
                    break
            except OSError:
                time.sleep(0.5)
        else:
            raise RuntimeError("streamlit did not come up in 2 minutes")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@dataclass
class Visit:
    """What the browser did on the page."""

    requests: int = 0
    foreign: list[str] = field(default_factory=list)
    alerts: list[str] = field(default_factory=list)
    body: str = ""


def visit(url: str, chrome: str, driver_path: str, profile: Path) -> Visit:
    """Ask a question that reaches the hostile files, open every tab, and record requests and alerts."""
    from selenium import webdriver
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    opts = webdriver.ChromeOptions()
    opts.binary_location = chrome
    opts.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1400,1800", f"--user-data-dir={profile}"):
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service(driver_path), options=opts)
    out = Visit()
    try:
        driver.get(url)
        box = WebDriverWait(driver, 120).until(
            ec.element_to_be_clickable((By.CSS_SELECTOR, "input[aria-label^='Question']")))
        box.send_keys("广安区工业投资 岳池县新签约项目", Keys.ENTER)
        WebDriverWait(driver, 120).until(lambda d: "Passages" in d.find_element(By.TAG_NAME, "body").text)
        out.body = driver.find_element(By.TAG_NAME, "body").text
        for tab in driver.find_elements(By.CSS_SELECTOR, "button[role='tab']"):
            tab.click()
            time.sleep(2)
            try:
                alert = driver.switch_to.alert
                out.alerts.append(alert.text)
                alert.dismiss()
            except NoAlertPresentException:
                pass
        for entry in driver.get_log("performance"):
            msg = json.loads(entry["message"])["message"]
            if msg.get("method") != "Network.requestWillBeSent":
                continue
            out.requests += 1
            target = urlparse(msg["params"]["request"]["url"])
            if target.scheme in ("http", "https", "ws", "wss") and target.hostname not in ("127.0.0.1", "localhost"):
                out.foreign.append(target.geturl())
    finally:
        driver.quit()
    return out
