from collections import Counter

import pytest

from lmladder.corpus.pii import mask_pii


@pytest.mark.parametrize(
    ("text", "masked", "kind"),
    [
        ("write to jane.doe+news@mail.example.org today", "write to <EMAIL> today", "emails"),
        ("host 192.168.1.20 is up", "host <IP> is up", "ips"),
        ("bind to ::1 first", "bind to <IP> first", "ips"),
        ("link-local fe80::1 here", "link-local <IP> here", "ips"),
        ("full 2001:db8::8a2e:370:7334 address", "full <IP> address", "ips"),
        ("call +1 (555) 123-4567 now", "call <PHONE> now", "phones"),
        ("or 555-123-4567.", "or <PHONE>.", "phones"),
        ("dial +44 20 7946 0958", "dial <PHONE>", "phones"),
    ],
)
def test_masks_one_item(text, masked, kind):
    assert mask_pii(text) == (masked, Counter({kind: 1}))


@pytest.mark.parametrize(
    "text",
    [
        "section 1.2.3.4.5 of the spec",
        "300.1.1.1 is no address",
        "Python 3.11.7 and version 1.2.3",
        "Example::",
        "dead::beef",
        "released 2023-01-15",
        "sizes 100 200 300",
        "ratio 3.14159",
        "time 12:30:45",
        "user@localhost",
    ],
)
def test_leaves_lookalikes_alone(text):
    assert mask_pii(text) == (text, Counter())


def test_counts_every_kind():
    text = "a@b.io, c@d.io; 10.0.0.1 and ::1; 555-123-4567"
    assert mask_pii(text) == (
        "<EMAIL>, <EMAIL>; <IP> and <IP>; <PHONE>",
        Counter({"emails": 2, "ips": 2, "phones": 1}),
    )
