"""A real browser: headless Chromium against `streamlit run app.py` on a local port."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.model]
ROOT = Path(__file__).resolve().parent.parent


def _browser_paths() -> tuple[str, str]:
    chrome = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    driver = shutil.which("chromedriver")
    if not chrome or not driver:
        pytest.skip("no Chromium + ChromeDriver here: `apt-get install chromium chromium-driver` (./run tests does it as root)")
    return chrome, driver


@pytest.fixture
def served_app(real_index):
    from hostile_browser import served

    with served(real_index.settings.corpus, real_index.folder) as url:
        yield url


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


def test_hostile_text_fires_no_alert_and_fetches_nothing_foreign(real_index, tmp_path):
    from hostile_browser import make_hostile_corpus, served, visit

    chrome, driver_path = _browser_paths()
    corpus, index = make_hostile_corpus(tmp_path)
    with served(corpus, index) as url:
        seen = visit(url, chrome, driver_path, tmp_path / "profile")
    assert "evil.example" in seen.body  # the hostile markup is on the page as text, not as elements
    assert seen.requests > 0
    assert not seen.alerts, f"alerts fired: {seen.alerts}"
    assert not seen.foreign, f"requests left for other hosts: {sorted(set(seen.foreign))}"
