"""YARN ResourceManager addresses as kernelspecs give them."""

from __future__ import annotations

from urllib.parse import urlsplit

__all__ = ["check_endpoint", "normalise_endpoint"]

_WS_SUFFIX = "/ws/v1/cluster"


def normalise_endpoint(url: str) -> str:
    """``rm:8088`` / ``http://rm:8088/ws/v1/cluster/`` (EG's form) -> ``http://rm:8088``."""
    url = url.strip().rstrip("/")
    if url.endswith(_WS_SUFFIX):
        url = url[: -len(_WS_SUFFIX)]
    if url and "://" not in url:
        url = "http://" + url
    return url


def check_endpoint(value: str) -> str:
    """The normalised endpoint; ValueError saying the expected form when it is not a URL."""
    url = normalise_endpoint(value)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        msg = f"a YARN endpoint must look like http://HOST:8088, not {value!r}"
        raise ValueError(msg)
    return url
