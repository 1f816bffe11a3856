"""Webhook targets (and URLs a platform sends) in any IANA special-purpose
range are refused, at configuration and at send, and the refusal names the
range. The test settings allow-list loopback only, which would refuse all of
these anyway, so each test unsets PARLEY_OUTBOUND_ALLOW and answers name
lookups itself: nothing here reaches a DNS server or opens a connection."""

import pytest

from messaging import outbound

# (an address, the range its refusal must name), written out here rather
# than read from outbound.SPECIAL_RANGES, so a range dropped there fails.
SPECIAL = [
    ("0.1.2.3", "0.0.0.0/8 (this network)"),
    ("10.1.2.3", "10.0.0.0/8 (private-use)"),
    ("100.64.0.1", "100.64.0.0/10 (shared address space)"),
    ("127.0.0.1", "127.0.0.0/8 (loopback)"),
    ("169.254.169.254", "169.254.0.0/16 (link-local)"),
    ("172.16.0.1", "172.16.0.0/12 (private-use)"),
    ("192.0.0.1", "192.0.0.0/29 (IPv4 service continuity prefix)"),
    ("192.0.0.8", "192.0.0.8/32 (IPv4 dummy address)"),
    ("192.0.0.9", "192.0.0.9/32 (Port Control Protocol anycast)"),
    ("192.0.0.10", "192.0.0.10/32 (TURN anycast)"),
    ("192.0.0.170", "192.0.0.170/31 (NAT64/DNS64 discovery)"),
    ("192.0.0.100", "192.0.0.0/24 (IETF protocol assignments)"),
    ("192.0.2.1", "192.0.2.0/24 (documentation, TEST-NET-1)"),
    ("192.31.196.1", "192.31.196.0/24 (AS112-v4)"),
    ("192.52.193.1", "192.52.193.0/24 (AMT)"),
    ("192.88.99.1", "192.88.99.0/24 (deprecated 6to4 relay anycast)"),
    ("192.168.1.1", "192.168.0.0/16 (private-use)"),
    ("192.175.48.1", "192.175.48.0/24 (direct delegation AS112 service)"),
    ("198.18.0.1", "198.18.0.0/15 (benchmarking)"),
    ("198.51.100.1", "198.51.100.0/24 (documentation, TEST-NET-2)"),
    ("203.0.113.1", "203.0.113.0/24 (documentation, TEST-NET-3)"),
    ("224.0.0.1", "224.0.0.0/4 (multicast)"),
    ("240.0.0.1", "240.0.0.0/4 (reserved)"),
    ("255.255.255.255", "255.255.255.255/32 (limited broadcast)"),
    ("::", "::/128 (unspecified)"),
    ("::1", "::1/128 (loopback)"),
    ("::127.0.0.1", "::/96 (IPv4-compatible, deprecated) embedding 127.0.0.1"),
    ("::8.8.8.8", "::/96 (IPv4-compatible, deprecated) embedding 8.8.8.8"),
    ("::ffff:127.0.0.1", "::ffff:0:0/96 (IPv4-mapped) embedding 127.0.0.1, in 127.0.0.0/8 (loopback)"),
    ("::ffff:10.0.0.1", "::ffff:0:0/96 (IPv4-mapped) embedding 10.0.0.1, in 10.0.0.0/8 (private-use)"),
    ("::ffff:0:8.8.8.8", "::ffff:0:0:0/96 (IPv4-translated)"),
    ("64:ff9b::7f00:1", "64:ff9b::/96 (NAT64) embedding 127.0.0.1, in 127.0.0.0/8 (loopback)"),
    ("64:ff9b::a9fe:a9fe", "64:ff9b::/96 (NAT64) embedding 169.254.169.254, in 169.254.0.0/16 (link-local)"),
    ("64:ff9b::c0a8:101", "64:ff9b::/96 (NAT64) embedding 192.168.1.1"),
    ("64:ff9b:1::808:808", "64:ff9b:1::/48 (local-use NAT64)"),
    ("100::1", "100::/64 (discard-only)"),
    ("100:0:0:1::1", "100:0:0:1::/64 (dummy IPv6 prefix)"),
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "2001::/32 (Teredo) embedding 192.0.2.45"),
    ("2001:1::1", "2001:1::1/128 (Port Control Protocol anycast)"),
    ("2001:1::2", "2001:1::2/128 (TURN anycast)"),
    ("2001:1::3", "2001:1::3/128 (DNS-SD service registration anycast)"),
    ("2001:2::1", "2001:2::/48 (benchmarking)"),
    ("2001:3::1", "2001:3::/32 (AMT)"),
    ("2001:4:112::1", "2001:4:112::/48 (AS112-v6)"),
    ("2001:10::1", "2001:10::/28 (deprecated ORCHID)"),
    ("2001:20::1", "2001:20::/28 (ORCHIDv2)"),
    ("2001:30::1", "2001:30::/28 (drone remote ID)"),
    ("2001:100::1", "2001::/23 (IETF protocol assignments)"),
    ("2001:db8::1", "2001:db8::/32 (documentation)"),
    ("2002:7f00:1::1", "2002::/16 (6to4) embedding 127.0.0.1"),
    ("2002:a00:1::1", "2002::/16 (6to4) embedding 10.0.0.1"),
    ("2620:4f:8000::1", "2620:4f:8000::/48 (direct delegation AS112 service)"),
    ("3fff::1", "3fff::/20 (documentation)"),
    ("5f00::1", "5f00::/16 (segment routing (SRv6) SIDs)"),
    ("fc00::1", "fc00::/7 (unique-local)"),
    ("fd12:3456::1", "fc00::/7 (unique-local)"),
    ("fe80::1", "fe80::/10 (link-local)"),
    ("fec0::1", "fec0::/10 (deprecated site-local)"),
    ("ff02::1", "ff00::/8 (multicast)"),
]
# Public addresses, and the ranges judged by the IPv4 address they carry
# when it is public (a DNS64 answer for an IPv4-only host is a fine target).
PUBLIC = ["8.8.8.8", "2606:4700::1111", "64:ff9b::808:808", "::ffff:8.8.8.8"]


@pytest.mark.parametrize("address,named", SPECIAL)
def test_it_refuses_a_name_resolving_into_a_special_range_naming_it(resolver, address, named):
    resolver["target.example"] = address
    with pytest.raises(outbound.Refused) as refused:
        outbound.post("https://target.example/hook", timeout=1, allow_private=False, json={})
    assert named in str(refused.value)
    assert str(refused.value).startswith("target.example resolves to a non-public address")


@pytest.mark.parametrize("address,named", SPECIAL)
def test_it_refuses_a_literal_in_a_special_range_naming_it(resolver, address, named):
    assert named in outbound.is_private_literal(f"[{address}]" if ":" in address else address)
    with pytest.raises(outbound.Refused) as refused:
        outbound.checked_address(address, 443, allow_private=False)
    assert named in str(refused.value)


@pytest.mark.parametrize("address", PUBLIC)
def test_it_lets_public_addresses_through(resolver, address):
    resolver["target.example"] = address
    assert outbound.is_private_literal(address) is None
    checked = outbound.checked_address("target.example", 443, allow_private=False)
    assert str(checked) == address.removeprefix("::ffff:")  # mapped: connect over IPv4


def test_platform_calls_may_still_reach_special_ranges(resolver):
    """Platform base URLs are the operator's settings (allow_private=True)."""
    resolver["target.example"] = "64:ff9b::7f00:1"
    assert str(outbound.checked_address("target.example", 443, allow_private=True)) == "64:ff9b::7f00:1"
