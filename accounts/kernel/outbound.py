"""Outbound HTTP to a URL a client supplied (OpenDSR status callbacks, webhook endpoints), safe
against server-side request forgery.

The host name is resolved once; every address it gives must be public (not private, loopback,
link-local, reserved, multicast or unspecified) unless it lies in a network listed in
`PORTAL_CALLBACKS_ALLOWED_NETWORKS` (loopback in first-look mode and the tests, nothing in
production). The connection then goes to that checked address, never to a second lookup, so a
DNS answer that changes between the check and the connect (rebinding) cannot redirect it. For
https the certificate is checked against the URL's host name (SNI), not the address. Redirects
are never followed: a 3xx is a failed delivery. Every step has the callback timeout.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlparse

from django.conf import settings
from django.utils.translation import gettext as _

DEFAULT_TIMEOUT_SECONDS = 5
USER_AGENT = "agreement-portal/1"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class Refused(Exception):
    """The URL may not be called; the message says why (shown to the client on the field)."""


@dataclass(frozen=True)
class Target:
    """A URL resolved once: where to connect (`address`) and what to name (`host`)."""

    scheme: str
    host: str
    port: int
    path: str
    family: int
    address: str


def _allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [
        ipaddress.ip_network(n, strict=False)
        for n in getattr(settings, "PORTAL_CALLBACKS_ALLOWED_NETWORKS", [])
    ]


def _in_allowed_network(ip: IPAddress) -> bool:
    return any(ip.version == net.version and ip in net for net in _allowed_networks())


def is_public(ip: IPAddress) -> bool:
    """An address on the public internet. `is_global` alone lets multicast through, and an
    IPv4-mapped IPv6 address is judged as the IPv4 address it carries."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_reserved
        or ip.is_multicast
        or ip.is_unspecified
    )


def resolve(url: str, *, label: str | None = None) -> Target:
    """Check `url` and resolve its host once; raise `Refused` with the reason, which starts
    with `label` (the field the client filled in).

    Plain http is accepted only to an allowed (test) network; everything else needs https.
    """
    label = label or str(_("The status callback URL"))
    parsed = urlparse(url)
    if parsed.scheme not in ("https", "http") or not parsed.hostname:
        raise Refused(_("%(label)s must be an absolute http(s) URL.") % {"label": label})
    if parsed.scheme != "https" and not _allowed_networks():
        raise Refused(_("%(label)s must use https.") % {"label": label})
    try:
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
    except ValueError as exc:
        raise Refused(_("%(label)s has an invalid port.") % {"label": label}) from exc
    try:
        infos = socket.getaddrinfo(parsed.hostname, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise Refused(_("%(label)s's host does not resolve.") % {"label": label}) from exc
    if not infos:
        raise Refused(_("%(label)s's host does not resolve.") % {"label": label})
    allowed_only = True
    for info in infos:
        ip = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if _in_allowed_network(ip):
            continue
        allowed_only = False
        if not is_public(ip):
            raise Refused(_("%(label)s must reach a public address.") % {"label": label})
    if parsed.scheme != "https" and not allowed_only:
        raise Refused(_("%(label)s must use https.") % {"label": label})
    family, _socktype, _proto, _canonname, sockaddr = infos[0]
    path = parsed.path or "/"
    if parsed.query:
        path = f"{path}?{parsed.query}"
    return Target(
        scheme=parsed.scheme,
        host=parsed.hostname,
        port=port,
        path=path,
        family=family,
        address=str(sockaddr[0]),
    )


def _pinned(target: Target, timeout: float) -> http.client.HTTPConnection:
    """A connection that names `target.host` (Host header, SNI, certificate) but connects to
    the address resolved and checked before, without another lookup."""

    def connect_to_checked_address(
        _address: object, _timeout: object = None, _source: object = None
    ) -> socket.socket:
        sock = socket.socket(target.family, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect((target.address, target.port))
        except BaseException:
            sock.close()
            raise
        return sock

    conn: http.client.HTTPConnection
    if target.scheme == "https":
        conn = http.client.HTTPSConnection(
            target.host, target.port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        conn = http.client.HTTPConnection(target.host, target.port, timeout=timeout)
    conn._create_connection = connect_to_checked_address  # type: ignore[attr-defined]
    return conn


def post_json(
    url: str, body: bytes, headers: dict[str, str], *, timeout: float | None = None
) -> tuple[int | None, str]:
    """POST `body` (JSON) to `url`: the response code and the error, if any ("" when 2xx).

    Raises nothing: a refusal, a network error or a timeout comes back as (None, reason), a
    redirect or an error status as (code, reason).
    """
    if timeout is None:
        timeout = getattr(settings, "DSR_CALLBACK_TIMEOUT_SECONDS", DEFAULT_TIMEOUT_SECONDS)
    try:
        target = resolve(url)
    except Refused as exc:
        return None, f"refused: {exc}"
    conn = _pinned(target, timeout)
    try:
        conn.request(
            "POST",
            target.path,
            body=body,
            headers={"Content-Type": "application/json", "User-Agent": USER_AGENT, **headers},
        )
        response = conn.getresponse()
        response.read(64 * 1024)  # drain a little; the body itself is not used
        code = response.status
    except Exception as exc:  # network errors, TLS errors, timeouts: kept for the retry job
        return None, f"{type(exc).__name__}: {exc}"[:1000]
    finally:
        conn.close()
    if 300 <= code < 400:
        return code, f"HTTP {code}: redirects are not followed"
    if not 200 <= code < 300:
        return code, f"HTTP {code}"
    return code, ""
