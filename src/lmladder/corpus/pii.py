"""Masking of personal data: e-mail addresses, IP addresses and phone numbers."""

from __future__ import annotations

import ipaddress
import re
from collections import Counter

EMAIL_TOKEN = "<EMAIL>"
IP_TOKEN = "<IP>"
PHONE_TOKEN = "<PHONE>"

_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
# Candidates only; ipaddress decides, so "1.2.3.999" or "code::" (not hex) stay as they are.
_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?!\w|\.\d)")
_IPV6 = re.compile(r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:(?:\d{1,3}\.){3}\d{1,3}|[0-9A-Fa-f]{1,4})?(?![\w:]|\.\d)")
# A phone number needs a "+" prefix, brackets, or "-"/"." separators: plain runs of numbers
# separated by spaces ("100 200 300") are too common in documentation to mask.
_PHONE = re.compile(
    r"(?<![\w+.-])(?:\+\d{1,3}[ .-]?\(?\d{1,4}\)?(?:[ .-]?\d{2,4}){2,4}"
    r"|\(\d{2,4}\)[ .-]?\d{3,4}[ .-]?\d{3,4}"
    r"|\d{2,4}[-.]\d{3,4}[-.]\d{3,4})(?![\w-])"
)

_DIGIT = re.compile(r"\d")


def _is_ip(candidate: str, version: int) -> bool:
    if version == 6 and not any(c.isdigit() for c in candidate):
        return False  # words like "dead::beef" are more often prose or code than addresses
    try:
        return ipaddress.ip_address(candidate).version == version
    except ValueError:
        return False


def mask_pii(text: str) -> tuple[str, Counter]:
    """Replace PII with placeholder tokens; return the new text and how many of each were masked."""
    counts: Counter = Counter()

    def replace_email(match: re.Match) -> str:
        counts["emails"] += 1
        return EMAIL_TOKEN

    def replace_ip(version: int):
        def replace(match: re.Match) -> str:
            if not _is_ip(match.group(0), version):
                return match.group(0)
            counts["ips"] += 1
            return IP_TOKEN

        return replace

    def replace_phone(match: re.Match) -> str:
        digits = sum(c.isdigit() for c in match.group(0))
        if not 7 <= digits <= 15:
            return match.group(0)
        counts["phones"] += 1
        return PHONE_TOKEN

    # Each pattern needs an "@" or a digit (IPv6: one the ipaddress check accepts): texts without one skip the scans.
    if "@" in text:
        text = _EMAIL.sub(replace_email, text)
    if _DIGIT.search(text):
        text = _IPV6.sub(replace_ip(6), text)
        text = _IPV4.sub(replace_ip(4), text)
        text = _PHONE.sub(replace_phone, text)
    return text, counts
