"""Addresses: which of this machine's addresses a remote host reaches it on."""

from __future__ import annotations

import socket

__all__ = ["resolve", "route_ip"]


def resolve(host: str) -> str:
    """The first address of ``host`` (blocking: call it in a thread)."""
    return str(socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)[0][4][0])


def route_ip(host: str, fallback: str = "") -> str:
    """This machine's address on the route to ``host`` (a name or an address).

    A UDP ``connect`` picks the route and sends nothing. Blocking (name lookup): call it in
    a thread. When there is no route, ``fallback`` is returned if given, else the
    ``OSError`` is raised.
    """
    try:
        target = socket.getaddrinfo(host, 9, proto=socket.IPPROTO_UDP)[0]
        with socket.socket(target[0], socket.SOCK_DGRAM) as sock:
            sock.connect(target[4])
            return str(sock.getsockname()[0])
    except OSError:
        if fallback:
            return fallback
        raise
