"""Issue 13's browser figures: the app over a hostile corpus in headless Chromium.

Prints the requests the page made, how many left for a host that is not the app, and the
alerts that fired (targets 0 and 0). Needs Debian's chromium and chromium-driver.

    .venv/bin/python scripts/browser_hostile.py
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))


def main() -> None:
    from hostile_browser import make_hostile_corpus, served, visit

    chrome, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not chrome or not driver:
        raise SystemExit("needs chromium and chromedriver: apt-get install chromium chromium-driver")
    with tempfile.TemporaryDirectory() as tmp:
        corpus, index = make_hostile_corpus(Path(tmp))
        with served(corpus, index) as url:
            seen = visit(url, chrome, driver, Path(tmp) / "profile")
    print(f"browser: {seen.requests} requests, {len(seen.foreign)} to foreign hosts, {len(seen.alerts)} alerts; "
          f"hostile markup shown as text: {'evil.example' in seen.body}")
    for u in sorted(set(seen.foreign)):
        print(f"  foreign: {u}")


if __name__ == "__main__":
    main()
