"""Where OrMa may send a webhook (DESIGN §7): a subscription URL must be ``https`` and reach only globally
routable addresses, so a partner cannot point OrMa at its own network, the cloud's metadata service or
another tenant's internals (SSRF).

Two checks share these rules: :func:`url_refusal` when a subscription is saved (the URL's host, and every
address its name resolves to now), and :func:`address_refusal` at connect time on the address the socket
actually uses (``notifications.transport``), so a name that resolves public at save and private later (DNS
rebinding) still cannot reach an internal host.

The blocks are listed here rather than taken from ``ipaddress``'s ``is_global``: its tables differ between
Python versions (3.11 calls 224.0.0.1 and 64:ff9b::7f00:1 global), and a security rule must not move with
the interpreter. IPv6 forms that carry an IPv4 address (mapped, compatible, NAT64, 6to4, Teredo) are judged
by the IPv4 address inside them, where the packet ends up; in a URL an IPv4-mapped literal is refused as
an odd spelling of the IPv4 address.

``ORMA_WEBHOOK_ALLOW_PRIVATE=1`` (development and tests) allows private addresses and ``http``; the
unspecified address and multicast stay refused even then: neither is ever a webhook endpoint.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from urllib.parse import urlsplit

from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Not globally routable, in the words a partner reads. IANA's special-purpose registries (RFC 6890 and
# successors); the first block that contains an address names why it is refused.
_V4_BLOCKS: list[tuple[ipaddress.IPv4Network, str]] = [
    (ipaddress.IPv4Network(net), why)
    for net, why in [
        ("0.0.0.0/8", "an unspecified or 'this network' address"),
        ("10.0.0.0/8", "a private address"),
        ("100.64.0.0/10", "a carrier-grade NAT address"),
        ("127.0.0.0/8", "a loopback address"),
        ("169.254.0.0/16", "a link-local address"),
        ("172.16.0.0/12", "a private address"),
        ("192.0.0.0/24", "an IETF protocol assignment"),
        ("192.0.2.0/24", "a documentation address"),
        ("192.88.99.0/24", "a 6to4 relay anycast address"),
        ("192.168.0.0/16", "a private address"),
        ("198.18.0.0/15", "a benchmarking address"),
        ("198.51.100.0/24", "a documentation address"),
        ("203.0.113.0/24", "a documentation address"),
        ("224.0.0.0/4", "a multicast address"),
        ("240.0.0.0/4", "a reserved address"),  # includes 255.255.255.255, the broadcast address
    ]
]
_V6_BLOCKS: list[tuple[ipaddress.IPv6Network, str]] = [
    (ipaddress.IPv6Network(net), why)
    for net, why in [
        ("::/128", "the unspecified address"),
        ("::1/128", "a loopback address"),
        ("::ffff:0:0/96", "an IPv4-mapped IPv6 address"),
        ("::/96", "an IPv4-compatible IPv6 address"),
        ("64:ff9b:1::/48", "a local-use NAT64 address"),
        ("100::/64", "a discard-only address"),
        ("2001::/32", "a Teredo address"),
        ("2001::/23", "an IETF protocol assignment"),
        ("2001:db8::/32", "a documentation address"),
        ("3fff::/20", "a documentation address"),
        ("5f00::/16", "a segment-routing address"),
        ("fc00::/7", "a unique-local (private) address"),
        ("fe80::/10", "a link-local address"),
        ("fec0::/10", "a site-local address"),
        ("ff00::/8", "a multicast address"),
    ]
]
# Globally routable blocks carved out of the refused 2001::/23 (RFC 7723, 8155, 7954, 7343, 9374): AS112,
# AMT, PCP anycast, ORCHIDv2, DRIP.
_V6_GLOBAL_EXCEPTIONS = [
    ipaddress.IPv6Network(net)
    for net in ["2001:1::1/128", "2001:1::2/128", "2001:3::/32", "2001:4:112::/48", "2001:20::/28", "2001:30::/28"]
]
_GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
# Refused even with ORMA_WEBHOOK_ALLOW_PRIVATE: never an endpoint, on any network.
_NEVER_V4 = [ipaddress.IPv4Network("0.0.0.0/32"), ipaddress.IPv4Network("224.0.0.0/4")]
_NEVER_V6 = [ipaddress.IPv6Network("::/128"), ipaddress.IPv6Network("ff00::/8")]


def address_refusal(address: str) -> str | None:
    """Why OrMa must not connect to this IP address (text form, v4 or v6), or None when it may.

    Refuses everything not globally routable: private, loopback, link-local, CGNAT 100.64/10, multicast,
    reserved, unspecified, IPv4-mapped/compatible IPv6 and NAT64 64:ff9b::/96 and 6to4/Teredo judged by the
    IPv4 inside them. Honours ``settings.ORMA_WEBHOOK_ALLOW_PRIVATE``.
    """
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return f"{address!r} is not an IP address"
    if isinstance(ip, ipaddress.IPv6Address) and ip.scope_id:
        return f"{address} carries a zone index: a link-local address"
    if settings.ORMA_WEBHOOK_ALLOW_PRIVATE:
        never = _NEVER_V4 if isinstance(ip, ipaddress.IPv4Address) else _NEVER_V6
        if any(ip in net for net in never):
            return f"{ip} is {'a multicast address' if ip.is_multicast else 'the unspecified address'}"
        return None
    why = _refusal(ip)
    return f"{ip} is {why}" if why else None


def _refusal(ip: IPAddress) -> str | None:
    """Why this address is not globally routable, or None."""
    if isinstance(ip, ipaddress.IPv4Address):
        return next((why for net, why in _V4_BLOCKS if ip in net), None)
    inner = _embedded_ipv4(ip)
    if inner:
        # The packet goes to the IPv4 address inside (a mapping, a NAT64 gateway, a 6to4 or Teredo relay).
        whys = [f"{why} ({address}) inside an IPv6 address" for address in inner if (why := _refusal(address))]
        return whys[0] if whys else None
    if any(ip in net for net in _V6_GLOBAL_EXCEPTIONS):
        return None
    why = next((why for net, why in _V6_BLOCKS if ip in net), None)
    if why is None and ip not in _GLOBAL_UNICAST:
        why = "a reserved address"  # outside 2000::/3 and every listed block: unallocated, never routed today
    return why


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 form carries (mapped, compatible, NAT64, 6to4, Teredo's server and client)."""
    if ip.ipv4_mapped is not None:
        return [ip.ipv4_mapped]
    if ip in _NAT64 or (ip in _IPV4_COMPATIBLE and int(ip) > 1):
        return [ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)]
    if ip.sixtofour is not None:
        return [ip.sixtofour]
    if ip.teredo is not None:
        return list(ip.teredo)
    return []


# WHATWG URL: a host whose last label is a number (decimal, or 0x hex) is an IPv4 address in any of the
# inet_aton spellings (2130706433, 0x7f.1, 0177.0.0.1, 127.1). Browsers, curl and Python's resolver accept
# them, so they are judged as the address they mean, and refused unless written canonically.
_NUMERIC_LABEL = re.compile(r"^(?:[0-9]+|0[xX][0-9a-fA-F]*)$")


def _inet_aton(host: str) -> ipaddress.IPv4Address | None:
    """The address an inet_aton spelling of IPv4 means, or None when it is not a valid one."""
    labels = host.split(".")
    if not 1 <= len(labels) <= 4:
        return None
    numbers = []
    for label in labels:
        if not _NUMERIC_LABEL.match(label):
            return None
        if label[:2].lower() == "0x":
            numbers.append(int(label[2:] or "0", 16))
        elif len(label) > 1 and label.startswith("0"):
            if not set(label) <= set("01234567"):
                return None
            numbers.append(int(label, 8))
        else:
            numbers.append(int(label))
    *leading, last = numbers
    if any(part > 255 for part in leading) or last >= 256 ** (5 - len(numbers)):
        return None
    value = last
    for index, part in enumerate(leading):
        value += part << (8 * (3 - index))
    return ipaddress.IPv4Address(value)


def url_refusal(url: str) -> str | None:
    """Why this subscription URL is refused, or None.

    ``https`` only (``http`` only when ORMA_WEBHOOK_ALLOW_PRIVATE), no credentials in it, a host that is a
    name or a canonical IP (decimal/octal/hex/short IPv4 forms like 2130706433, 0x7f.1, 017700000001 are
    refused, naming the address they mean), and every address the name resolves to
    (``socket.getaddrinfo``) judged by :func:`address_refusal`.
    """
    if not isinstance(url, str) or not url:
        return "the URL is empty"
    if any(ord(char) <= 0x20 or ord(char) == 0x7F for char in url) or "\\" in url:
        return "the URL contains spaces, control characters or backslashes"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        return f"not a valid URL: {error}"
    schemes = ("https", "http") if settings.ORMA_WEBHOOK_ALLOW_PRIVATE else ("https",)
    if parts.scheme.lower() not in schemes:
        return "the URL must use https" if len(schemes) == 1 else "the URL must use https or http"
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        return "the URL must not carry credentials (user:password@); the signature authenticates OrMa"
    host = parts.hostname
    if not host:
        return "the URL has no host"
    if port == 0:
        return "port 0 is not a port"
    if "[" in parts.netloc:  # an IPv6 literal
        try:
            literal = ipaddress.IPv6Address(host)
        except ValueError:
            return f"{host!r} is not a valid IPv6 address"
        if literal.ipv4_mapped is not None:
            return f"[{host}] is an IPv4-mapped IPv6 address: write the IPv4 address {literal.ipv4_mapped} itself"
        return address_refusal(host)
    host = host.removesuffix(".")
    labels = host.split(".")
    if _NUMERIC_LABEL.match(labels[-1]):
        ip = _inet_aton(host)
        if ip is None:
            return f"{parts.hostname!r} is neither a host name nor a valid IPv4 address"
        if str(ip) != host:
            return f"{parts.hostname!r} is an unusual spelling of the IPv4 address {ip}: write it as {ip}"
        return address_refusal(str(ip))
    try:
        host.encode("idna")
    except UnicodeError:
        return f"{parts.hostname!r} is not a valid host name"
    return _resolution_refusal(host, port or (443 if parts.scheme.lower() == "https" else 80))


def _resolution_refusal(host: str, port: int) -> str | None:
    """Why the addresses this name resolves to now are refused, or None when every one is allowed."""
    try:
        answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        if settings.ORMA_WEBHOOK_ALLOW_PRIVATE:
            return None  # development: the endpoint may come up later; the connect-time check still applies
        return f"the host {host!r} does not resolve"
    addresses = sorted({str(answer[4][0]) for answer in answers})
    if not addresses:
        return f"the host {host!r} does not resolve"
    for address in addresses:
        why = address_refusal(address)
        if why:
            return f"the host {host!r} resolves to {why}"
    return None
