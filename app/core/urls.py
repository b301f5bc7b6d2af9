"""Outbound URL checks against server-side request forgery ("SSRF"): webhook targets
(Standard Webhooks) and the HR listings the server pulls.

A URL a client configures may not point at loopback, private, link-local, shared,
reserved or multicast addresses unless the server allows it. Host names are resolved
when the URL is saved and again before every request, so a name that later resolves to
an internal address (DNS rebinding) is refused when it is used.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit


class UnsafeURL(ValueError):
    """The URL is malformed or targets an address that is not allowed."""


def parse(url: str) -> tuple[str, int]:
    """(host, port) of an http(s) URL; UnsafeURL when it is not one."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeURL(f"not a valid URL: {exc}") from exc
    if parts.scheme not in ("http", "https"):
        raise UnsafeURL("the URL must use https or http")
    if not parts.hostname:
        raise UnsafeURL("the URL has no host")
    if parts.username or parts.password:
        raise UnsafeURL("the URL must not carry credentials")
    return parts.hostname, port or (443 if parts.scheme == "https" else 80)


def is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    # is_global is False for private, loopback, link-local, shared (100.64/10), reserved,
    # unspecified and documentation ranges.
    return address.is_global and not address.is_multicast


def _literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def resolve(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    literal = _literal(host)
    if literal is not None:
        return [literal]
    infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


def check(url: str, *, allow_private: bool, must_resolve: bool = True) -> None:
    """Raise UnsafeURL unless the URL is http(s) and every address it names is public.

    A host name is resolved and all its addresses are checked. With must_resolve=False (when
    a subscription is saved, before its DNS may exist) a name that does not resolve passes;
    the check before each attempt then refuses it.
    """
    host, port = parse(url)
    if allow_private:
        return
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        raise UnsafeURL("the URL targets localhost")
    try:
        addresses = resolve(host, port)
    except OSError as exc:
        if not must_resolve:
            return
        raise UnsafeURL(f"the host {host} does not resolve: {exc}") from exc
    for address in addresses:
        if not is_public(address):
            raise UnsafeURL(
                f"the URL targets {address}, a private, loopback, link-local or reserved address"
            )
