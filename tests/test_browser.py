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
    corpus, index = make_hostile_corpus(tmp_path, real_index.folder)
    with served(corpus, index) as url:
        seen = visit(url, chrome, driver_path, tmp_path / "profile")
    assert "evil.example" in seen.body  # the hostile markup is on the page as text, not as elements
    assert seen.requests > 0
    assert not seen.alerts, f"alerts fired: {seen.alerts}"
    assert not seen.foreign, f"requests left for other hosts: {sorted(set(seen.foreign))}"


def test_the_desk_in_a_real_browser(served_app, tmp_path):
    """A shared link opened in a new session: the answer, its chart and map drawn, the JSON export
    downloaded and parsed, a batch file answered, and no request to another host."""
    import json
    import time
    from urllib.parse import quote, urlparse

    from selenium import webdriver
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    chrome, driver_path = _browser_paths()
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    opts = webdriver.ChromeOptions()
    opts.binary_location = chrome
    opts.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    opts.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                           "download.prompt_for_download": False})
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1400,1800", f"--user-data-dir={tmp_path / 'profile'}"):
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service(driver_path), options=opts)
    body = lambda d: d.find_element(By.TAG_NAME, "body").text  # noqa: E731

    def wait(seconds: float) -> WebDriverWait:
        """A wait that retries when Streamlit redraws an element while it is read."""
        return WebDriverWait(driver, seconds, ignored_exceptions=(StaleElementReferenceException,))

    try:
        driver.get(f"{served_app}/?q={quote('哪些地区提出了9.5%的增长目标?')}&region={quote('四川省')}")
        wait(180).until(lambda d: "岳池县（全年" in body(d))
        assert "广安区（一季度" in body(driver)
        # the bar chart and the map are drawn (vega-embed renders each into a canvas or an svg)
        wait(60).until(lambda d: len(d.find_elements(
            By.CSS_SELECTOR, "[data-testid='stVegaLiteChart'] canvas, [data-testid='stVegaLiteChart'] svg")) >= 2)
        charts = driver.find_elements(By.CSS_SELECTOR, "[data-testid='stVegaLiteChart']")
        assert len(charts) >= 2 and all(c.size["height"] > 100 for c in charts[:2])
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", charts[0])
        time.sleep(1)
        shot = Path(os.environ.get("POLICYQA_SCREENSHOT", tmp_path / "screenshot.png"))
        shot.parent.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(shot))
        # the link's filter reached the sidebar
        assert "四川省" in driver.find_element(By.CSS_SELECTOR, "[data-testid='stSidebar']").text
        # the JSON export, downloaded and parsed
        button = next(b for b in driver.find_elements(By.TAG_NAME, "button") if b.text == "Answer as JSON")
        driver.execute_script("arguments[0].click();", button)
        # Chrome may show the file before its bytes are written: wait until it reads whole
        def downloaded() -> dict | None:
            for path in downloads.glob("*.json"):
                try:
                    return json.loads(path.read_text(encoding="utf-8"))
                except ValueError:
                    return None
            return None

        wait(30).until(lambda d: downloaded() is not None)
        exported = downloaded()
        assert [i["region"] for i in exported["items"]] == ["广安区", "岳池县"]
        assert all(i["quote"]["text"] == i["quote"]["text"].strip() for i in exported["items"])
        # a batch file in the Batch tab
        questions = tmp_path / "questions.txt"
        questions.write_text("哪些地区提出了9.5%的增长目标?\n绵阳市如何发展低空经济\n", encoding="utf-8")
        next(t for t in driver.find_elements(By.CSS_SELECTOR, "[role='tab']") if t.text.strip() == "Batch").click()
        upload = wait(60).until(lambda d: next(
            (i for i in d.find_elements(By.CSS_SELECTOR, "input[type='file']")
             if ".csv" in (i.get_attribute("accept") or "") and ".pdf" not in i.get_attribute("accept")), None))
        upload.send_keys(str(questions))
        run = wait(60).until(lambda d: next(
            (b for b in d.find_elements(By.TAG_NAME, "button") if b.text == "Answer them all"), None))
        driver.execute_script("arguments[0].click();", run)
        wait(120).until(lambda d: "2 questions answered" in body(d))
        foreign = []
        for entry in driver.get_log("performance"):
            msg = json.loads(entry["message"])["message"]
            if msg.get("method") == "Network.requestWillBeSent":
                target = urlparse(msg["params"]["request"]["url"])
                if target.scheme in ("http", "https", "ws", "wss") and target.hostname not in ("127.0.0.1", "localhost"):
                    foreign.append(target.geturl())
        assert not foreign, f"requests left for other hosts: {sorted(set(foreign))}"
    finally:
        driver.quit()
