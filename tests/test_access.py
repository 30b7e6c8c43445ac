"""Who may change the index (retrieval/access.py), the app's listening address, and the ETA text."""

from __future__ import annotations

import subprocess

import pytest

from retrieval.access import is_loopback, may_change_index
from retrieval.progress import eta_text, with_eta


@pytest.mark.parametrize("address", ["127.0.0.1", "127.3.2.1", "::1", "[::1]", "localhost", "LOCALHOST"])
def test_loopback_may_change_without_a_token(address):
    assert is_loopback(address)
    assert may_change_index(address, None, None)


@pytest.mark.parametrize("address", [None, "", "0.0.0.0", "::", "192.168.1.5", "example.org", "127.0.0.1.evil"])
def test_other_addresses_need_the_configured_token(address):
    assert not is_loopback(address)
    assert not may_change_index(address, None, "s3cret")
    assert not may_change_index(address, "", "s3cret")
    assert not may_change_index(address, "wrong", "s3cret")
    assert not may_change_index(address, "s3cre", "s3cret")
    assert not may_change_index(address, "anything", None)  # no token configured: nobody
    assert not may_change_index(address, "", "")
    assert may_change_index(address, "s3cret", "s3cret")
    assert may_change_index(address, "令牌\ud800", "令牌\ud800")  # any str compares, none raises


def test_app_listens_on_loopback_unless_told(monkeypatch, capsys):
    from retrieval import cli

    calls = []
    monkeypatch.setattr(subprocess, "call", lambda cmd, env: calls.append(cmd) or 0)
    assert cli.main(["app", "--headless"]) == 0
    assert cli.main(["app", "--host", "0.0.0.0", "--port", "8600"]) == 0
    first, second = calls
    assert first[first.index("--server.address") + 1] == "127.0.0.1"
    assert second[second.index("--server.address") + 1] == "0.0.0.0"
    assert second[second.index("--server.port") + 1] == "8600"


def test_eta_text():
    assert eta_text(0.5, 0.5) == ""  # no basis yet
    assert eta_text(10, 0.0) == "" and eta_text(10, 1.0) == ""
    assert eta_text(10, 0.5) == "about 10 s left"
    assert eta_text(60, 0.2) == "about 4 min left"
    assert eta_text(3600, 0.25) == "about 3.0 h left"


def test_with_eta_appends_the_estimate():
    ticks = iter([0.0, 0.0, 30.0])
    seen = []
    note = with_eta(lambda msg, f: seen.append((msg, f)), clock=lambda: next(ticks))
    note("reading corpus", 0.0)
    note("embedding paragraphs", 0.2)
    assert seen == [("reading corpus", 0.0), ("embedding paragraphs · about 2 min left", 0.2)]
