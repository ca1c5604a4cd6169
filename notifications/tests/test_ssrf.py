"""SSRF rules of subscription URLs and connect-time addresses (DESIGN §7, issue 10 point 6).

Every vector is refused with ``ORMA_WEBHOOK_ALLOW_PRIVATE`` unset; names are resolved through a patched
``socket.getaddrinfo`` (DNS answers are the one thing that cannot run here), so the test never depends on
the machine's resolver.
"""

from __future__ import annotations

import socket

import pytest

from notifications import ssrf

PUBLIC_V4 = "93.184.215.14"
PUBLIC_V6 = "2606:2800:21f:cb07:6820:80da:af6b:8b2c"


@pytest.fixture
def dns(monkeypatch):
    """A fake resolver: ``dns["name"] = ["addr", ...]``; an unknown name fails as the real one would."""
    table: dict[str, list[str]] = {}
    asked: list[str] = []

    def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):  # noqa: A002  # socket's own names
        asked.append(host)
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            (socket.AF_INET6 if ":" in address else socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))
            for address in table[host]
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    table["_asked"] = asked  # type: ignore[assignment]
    return table


@pytest.fixture(autouse=True)
def _strict(settings):
    settings.ORMA_WEBHOOK_ALLOW_PRIVATE = False


REFUSED_URLS = [
    "http://127.0.0.1/hook",
    "http://example.com/hook",  # http, even to a public host
    "https://10.0.0.1/hook",
    "https://172.16.5.4/",
    "https://192.168.1.1/",
    "https://[::1]/",
    "https://[::ffff:127.0.0.1]/",
    "https://[::ffff:8.8.8.8]/",  # an IPv4-mapped literal is refused as a spelling, even of a public address
    "https://[::ffff:7f00:1]/",
    "https://[::127.0.0.1]/",  # IPv4-compatible
    "https://2130706433/",  # decimal 127.0.0.1
    "https://017700000001/",  # octal 127.0.0.1
    "https://0x7f000001/",
    "https://0x7f.1/",
    "https://0177.0.0.1/",
    "https://127.1/",
    "https://127.0.0.1./",  # trailing dot
    "https://0/",
    "https://169.254.169.254/latest/meta-data/",
    "https://100.64.0.1/",
    "https://[fe80::1]/",
    "https://[fe80::1%25eth0]/",
    "https://[fc00::1]/",
    "https://[fd12:3456::1]/",
    "https://224.0.0.1/",
    "https://[ff02::1]/",
    "https://0.0.0.0/",
    "https://[::]/",
    "https://255.255.255.255/",
    "https://[64:ff9b::7f00:1]/",  # NAT64 of 127.0.0.1
    "https://[64:ff9b::a00:1]/",  # NAT64 of 10.0.0.1
    "https://[64:ff9b:1::1]/",  # local-use NAT64
    "https://[2002:7f00:1::]/",  # 6to4 of 127.0.0.1
    "https://[2002:c0a8:101::1]/",  # 6to4 of 192.168.1.1
    "https://[2001:0:4136:e378:8000:63bf:80ff:fffe]/",  # Teredo whose client is 127.0.0.1
    "https://[2001:db8::1]/",
    "https://192.0.2.1/",
    "https://198.51.100.7/",
    "https://203.0.113.9/",
    "https://198.18.0.1/",
    "https://192.0.0.8/",
    "https://240.0.0.1/",
    "https://user:pass@example.com/hook",
    "https://user@example.com/hook",
    "ftp://example.com/hook",
    "file:///etc/passwd",
    "gopher://example.com/",
    "javascript:alert(1)",
    "https:///no-host",
    "https://",
    "//example.com/hook",
    "example.com/hook",
    "",
    "https://256.1.1.1/",  # a number that is no IPv4 address
    "https://1.2.3.4.5/",
    "https://08.1.1.1/",  # not octal, not decimal
    "https://example.com:0/",
    "https://example.com:99999/",
    "https://exa mple.com/",
    "https://example.com\\@127.0.0.1/",
    "https://[::1/",
]


@pytest.mark.parametrize("url", REFUSED_URLS)
def test_it_refuses(url, dns):
    dns["example.com"] = [PUBLIC_V4]
    assert ssrf.url_refusal(url)


def test_it_has_the_issues_twenty_five_vectors():
    assert len(REFUSED_URLS) >= 25


def test_it_refuses_a_name_resolving_to_a_private_address(dns):
    dns["internal.example"] = ["10.1.2.3"]
    assert ssrf.url_refusal("https://internal.example/hook") == (
        "the host 'internal.example' resolves to 10.1.2.3 is a private address"
    )


def test_it_refuses_a_name_resolving_to_one_public_and_one_private_address(dns):
    dns["mixed.example"] = [PUBLIC_V4, "127.0.0.1"]
    assert "127.0.0.1 is a loopback address" in ssrf.url_refusal("https://mixed.example/")


def test_it_refuses_a_name_resolving_to_a_private_ipv6_address(dns):
    dns["v6.example"] = [PUBLIC_V4, "fd00::5"]
    assert "fd00::5" in ssrf.url_refusal("https://v6.example/")


def test_it_refuses_localhost_by_what_it_resolves_to(dns):
    dns["localhost"] = ["127.0.0.1", "::1"]
    assert "loopback" in ssrf.url_refusal("https://localhost:8443/")


def test_it_refuses_a_name_that_does_not_resolve(dns):
    assert ssrf.url_refusal("https://nowhere.example/") == "the host 'nowhere.example' does not resolve"


def test_it_names_the_address_an_odd_spelling_means(dns):
    assert ssrf.url_refusal("https://0x7f.1/") == (
        "'0x7f.1' is an unusual spelling of the IPv4 address 127.0.0.1: write it as 127.0.0.1"
    )
    assert "127.0.0.1" in ssrf.url_refusal("https://2130706433/")
    assert "127.0.0.1" in ssrf.url_refusal("https://017700000001/")
    assert "8.8.8.8" in ssrf.url_refusal("https://134744072/")  # even a public address, oddly spelt


def test_it_asks_the_resolver_nothing_for_an_address(dns):
    ssrf.url_refusal(f"https://{PUBLIC_V4}/")
    ssrf.url_refusal("https://2130706433/")
    assert dns["_asked"] == []


@pytest.mark.parametrize(
    "url",
    [
        f"https://{PUBLIC_V4}/hook",
        f"https://{PUBLIC_V4}:8443/hook?x=1",
        f"https://[{PUBLIC_V6}]/hook",
        "https://[64:ff9b::808:808]/",  # NAT64 of 8.8.8.8: the packet goes to a public address
        "https://[2002:808:808::1]/",  # 6to4 of 8.8.8.8
        "https://hooks.example.com/orma",
        "HTTPS://Hooks.Example.COM/orma",
        "https://hooks.example.com./orma",
        "https://1.1.1.1/",
    ],
)
def test_it_accepts(url, dns):
    dns["hooks.example.com"] = [PUBLIC_V4, PUBLIC_V6]
    assert ssrf.url_refusal(url) is None


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.0.0.1",
        "100.127.255.255",
        "169.254.169.254",
        "0.0.0.0",
        "255.255.255.255",
        "224.0.0.251",
        "::1",
        "::",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "64:ff9b::a9fe:a9fe",  # NAT64 of the metadata service
        "2002:a9fe:a9fe::",
        "fe80::1",
        "fe80::1%eth0",
        "fc00::1",
        "ff05::2",
        "100::1",
        "2001:db8::8",
        "2001:10::1",
        "4000::1",  # outside 2000::/3: unallocated
        "not an address",
        "",
    ],
)
def test_address_refusal_refuses(address):
    assert ssrf.address_refusal(address)


@pytest.mark.parametrize(
    "address",
    [
        PUBLIC_V4,
        "8.8.8.8",
        "100.63.255.255",
        "100.128.0.0",
        PUBLIC_V6,
        "::ffff:8.8.8.8",  # connect time: judged by the IPv4 address inside
        "64:ff9b::808:808",
        "2001:4860:4860::8888",
    ],
)
def test_address_refusal_accepts(address):
    assert ssrf.address_refusal(address) is None


def test_it_refuses_at_the_cgnat_boundary():
    assert ssrf.address_refusal("100.64.0.0") == "100.64.0.0 is a carrier-grade NAT address"
    assert ssrf.address_refusal("100.63.255.255") is None


def test_allow_private_allows_private_addresses_and_http(settings, dns):
    settings.ORMA_WEBHOOK_ALLOW_PRIVATE = True
    assert ssrf.url_refusal("http://127.0.0.1:8080/hook") is None
    assert ssrf.url_refusal("https://[::1]/") is None
    assert ssrf.address_refusal("10.0.0.1") is None
    dns["localhost"] = ["127.0.0.1"]
    assert ssrf.url_refusal("http://localhost:9000/") is None


def test_allow_private_still_refuses_what_is_never_an_endpoint(settings):
    settings.ORMA_WEBHOOK_ALLOW_PRIVATE = True
    assert ssrf.address_refusal("0.0.0.0")
    assert ssrf.address_refusal("224.0.0.1")
    assert ssrf.address_refusal("::")
    assert ssrf.url_refusal("ftp://127.0.0.1/")
    assert ssrf.url_refusal("http://user:pw@127.0.0.1/")
    assert ssrf.url_refusal("http://0x7f.1/")  # odd spellings stay refused: they hide what they mean
