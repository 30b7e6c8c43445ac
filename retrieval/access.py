"""Who may change the index from the app: a pure decision, tested without a browser."""

from __future__ import annotations

import hmac
import ipaddress

LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


def is_loopback(address: str | None) -> bool:
    """True when a listening address is reachable from this machine only.

    ``None`` or ``""`` is Streamlit's default, every interface, so it is not loopback.
    """
    if not address:
        return False
    host = address.strip().strip("[]").lower()
    if host in LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def may_change_index(bound_address: str | None, given_token: str | None, expected_token: str | None) -> bool:
    """Whether a visitor may rebuild (or, later, upload to or delete from) the index.

    Anyone may when the app listens on a loopback address only. On any other address a visitor
    must give the admin token (``Settings.admin_token``, env ``POLICYQA_ADMIN_TOKEN``); with no
    token configured nobody may. Tokens are compared in constant time.
    """
    if is_loopback(bound_address):
        return True
    return token_matches(given_token, expected_token)


def token_matches(given_token: str | None, expected_token: str | None) -> bool:
    """Whether a given admin token is the configured one, compared in constant time (never when either is empty).

    The HTTP API asks for it on every write, whatever address it listens on.
    """
    if not expected_token or not given_token:
        return False
    return hmac.compare_digest(given_token.encode("utf-8", "replace"), expected_token.encode("utf-8", "replace"))
