"""What to keep of presidio's findings: plausibility rules and the documentation allow-list.

presidio's pattern recognizers are tuned for forms and chat logs, not for manuals and source code,
where most numbers are not phone numbers and most ``a.b.c.d`` are section numbers.  These rules run
after presidio (the fast path stays exactly presidio's answer) and each one is switchable:

- ``phone_national="grouped"``: a phone number written without ``+`` must look written by a person
  for dialling: at least 7 digits in at least two groups separated by spaces, dashes or brackets,
  no group of one digit (except a leading ``1``), no group over 8 digits, no ZIP+4 (``02110-1301``),
  no ISBN check digit, no date or year range in front.  ``"any"`` keeps presidio's answer,
  ``"none"`` keeps only international (``+``) numbers.
- IPv4 inside a longer dotted number (``15.4.1.3.4``, ``1.2.3.4.5``), opening a line as
  ``8.2.2.1. Installing`` or right after "section", "chapter", "§" is a section number.
- IPv6 that is not a unicast address (loopback, unspecified, link-local, multicast, reserved
  ranges such as ``6::`` from ``udp4/6::``) is not a person's address.
- ``ip_scope="global"`` (meant for code): only public hosts count; 127.0.0.1, 0.0.0.0, 10.x,
  192.168.x, multicast and the like are configuration, and quads of one- or two-digit parts
  ("1.2.3.4", OIDs such as "2.5.29.35") are versions, not people.
- ``allow_documentation``: example.com/.net/.org and the ``.example``/``.test``/``.invalid`` names
  (RFC 2606), and the documentation networks 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24 and
  2001:db8::/32 (RFC 5737, RFC 3849) are left in place: code and manuals are full of them.
"""

from __future__ import annotations

import ipaddress
import re

_DOC_DOMAINS = ("example.com", "example.net", "example.org")
_DOC_TLDS = ("example", "test", "invalid")
_DOC_NETS = tuple(ipaddress.ip_network(n) for n in
                  ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32"))

_GROUPS = re.compile(r"\d+")
_LINE_START = re.compile(r"(?:^|\n)[ \t]*\Z")
_HEADING = re.compile(r"\. \S")
#: "section 8.2.2.1", "chapter 2.3.1.4", "§ 4.1.2.3" just before the match (a "version 1.2.3.4"
#: stays an address: four-part versions and hosts cannot be told apart in prose)
_NUMBERED = re.compile(r"(?i)(?:\bsection|\bchapter|\bsect?\.|\bchap\.|§)\s*\Z")
_PHONE_SEPARATORS = re.compile(r"^[\d\s()+\-\u2010-\u2015\u2212\u00a0]+$")
_ZIP4 = re.compile(r"^\d{5}-\d{4}$")
_DATE_LEAD = re.compile(r"^\(?(?:1[5-9]|20)\d\d(?:[-/. ]?(?:0[1-9]|1[0-2])(?:[-/. ]?(?:0[1-9]|[12]\d|3[01]))?|"
                        r"\)?\s*[-\u2013 ]\s*\(?(?:1[5-9]|20)\d\d\b)")


def phone_plausible(value: str, mode: str) -> bool:
    """Keep this phone match under ``mode`` (``grouped`` | ``any`` | ``none``)?"""
    v = value.strip()
    if v[:1] in "+\uff0b" or mode == "any":
        return True
    if mode == "none":
        return False
    if not _PHONE_SEPARATORS.match(v) or _ZIP4.match(v) or _DATE_LEAD.match(v):
        return False
    groups = _GROUPS.findall(v)
    if len(groups) < 2 or sum(map(len, groups)) < 7 or max(map(len, groups)) > 8:
        return False
    if any(len(g) == 1 for g in groups[1:]) or (len(groups[0]) == 1 and groups[0] != "1"):
        return False
    return True


def ipv4_plausible(text: str, start: int, end: int) -> bool:
    """False for an IPv4 match that is part of a longer dotted number or numbers a heading ("8.2.2.1. Setup")."""
    before = text[max(0, start - 2):start]
    after = text[end:end + 2]
    if len(before) == 2 and before[1] == "." and before[0].isdigit():
        return False
    if len(after) == 2 and after[0] == "." and after[1].isdigit():
        return False
    if _HEADING.match(text, end) and _LINE_START.search(text, 0, start) \
            and all(len(x) <= 2 for x in text[start:end].split(".")):
        return False
    if _NUMBERED.search(text, max(0, start - 16), start):
        return False
    return True


def ipv6_plausible(value: str) -> bool:
    """False for loopback, unspecified, link-local, multicast and reserved-range IPv6 matches."""
    try:
        addr = ipaddress.ip_interface(value).ip
    except ValueError:
        return False
    if addr.version != 6:
        return True
    return not (addr.is_loopback or addr.is_unspecified or addr.is_link_local or addr.is_multicast
                or addr.is_reserved or addr.is_site_local)


def ip_is_global(value: str) -> bool:
    """A public host: globally routed unicast (not private, loopback, link-local, reserved, multicast,
    documentation), and not a version-like quad whose four parts all have one or two digits
    ("1.2.3.4", "2.5.29.35", "8.8.8.8": versions, OIDs, public resolvers; no person's host)."""
    try:
        addr = ipaddress.ip_interface(value).ip
    except ValueError:
        return False
    if addr.version == 4 and all(len(p) <= 2 for p in value.split("/")[0].split(".")):
        return False
    return addr.is_global and not addr.is_multicast


def is_documentation(entity: str, value: str) -> bool:
    """Documentation e-mail domains and IP networks, left unscrubbed when ``allow_documentation`` is on."""
    if entity == "EMAIL_ADDRESS" or entity == "URL":
        host = value.rsplit("@", 1)[-1].lower()
        if entity == "URL":
            host = re.sub(r"^[a-z]+://", "", host).split("/", 1)[0].split(":", 1)[0]
        host = host.rstrip(".")
        return host in _DOC_DOMAINS or host.endswith(tuple("." + d for d in _DOC_DOMAINS)) \
            or host.rsplit(".", 1)[-1] in _DOC_TLDS
    if entity == "IP_ADDRESS":
        try:
            addr = ipaddress.ip_interface(value).ip
        except ValueError:
            return False
        return any(addr.version == n.version and addr in n for n in _DOC_NETS)
    return False
