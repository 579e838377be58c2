"""Structured PII that no NER corpus tags: e-mail, phone, URL, IP, card, IBAN and US SSN (docs/redaction.md, section 1).

The patterns and the validators' parameters come from ``rules.json``; the exported JavaScript module compiles the
same patterns (flags ``u``, plus ``i`` where ``ignore_case``) and implements the same validators.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any, Callable, Iterable, Optional

import regex

from flair_modernbert.redaction.rules import load_rules
from flair_modernbert.redaction.spans import EntitySpan

logger = logging.getLogger(__name__)

__all__ = ["PATTERN_TYPES", "find_pii", "luhn_valid", "iban_valid", "ipv6_valid", "phone_valid", "credit_card_valid",
           "ssn_valid"]


def luhn_valid(digits: str) -> bool:
    """The Luhn checksum of a string of ASCII digits."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def credit_card_valid(text: str) -> bool:
    """12-19 digits, one kind of separator throughout, not all zeros, and the Luhn checksum; a number shorter than
    ``loose_grouping_min_digits`` (13) is written without separators or in groups of four (``5038 9141 7779``)."""
    limits = load_rules()["validators"]["credit_card"]
    separators = {char for char in text if not char.isascii() or not char.isdigit()}
    digits = "".join(char for char in text if char not in separators)
    if len(digits) < limits["loose_grouping_min_digits"] and separators:
        # a short Luhn number in free text is common enough that only the way cards print it counts
        groups = text.split(next(iter(separators)))
        if any(len(group) != 4 for group in groups):
            return False
    return (len(separators) <= 1 and limits["min_digits"] <= len(digits) <= limits["max_digits"]
            and digits.strip("0") != "" and luhn_valid(digits))


def iban_valid(text: str) -> bool:
    """ISO 13616: the country's length and the ISO 7064 mod-97 check (spaces allowed, any case)."""
    compact = text.replace(" ", "").upper()
    if not (compact.isascii() and compact.isalnum()):
        return False
    if len(compact) != load_rules()["validators"]["iban"]["lengths"].get(compact[:2]):
        return False
    rearranged = compact[4:] + compact[:4]
    # letters count as two-digit numbers (A = 10 ... Z = 35)
    number = "".join(str(int(char, 36)) for char in rearranged)
    return int(number) % 97 == 1


def _ipv4_valid(text: str) -> bool:
    parts = text.split(".")
    return len(parts) == 4 and all(part.isascii() and part.isdigit() and 1 <= len(part) <= 3 and int(part) <= 255
                                   for part in parts)


def ipv6_valid(text: str) -> bool:
    """The RFC 4291 text form: 8 groups of 1-4 hex digits, or fewer with one ``::``; an IPv4 tail counts as 2."""
    head, tail = text, 0
    if "." in text:
        head, colon, ipv4 = text.rpartition(":")
        if not colon or not _ipv4_valid(ipv4):
            return False
        tail = 2
        if head.endswith(":"):  # the colon before the IPv4 part closed a "::"
            head += ":"
    if head.count("::") > 1:
        return False
    if "::" in head:
        left, right = head.split("::")
        groups = (left.split(":") if left else []) + (right.split(":") if right else [])
        if len(groups) + tail > 7:
            return False
    else:
        groups = head.split(":")
        if len(groups) + tail != 8:
            return False
    hex_digits = set("0123456789abcdefABCDEF")
    return bool(groups or tail) and all(1 <= len(group) <= 4 and set(group) <= hex_digits for group in groups)


def phone_valid(text: str) -> bool:
    """Digit counts, an extension (``x12``, ``ext. 12``) not counted: 7-15 after a ``+`` or ``00`` (a ``(0)`` after
    the country code not counted; ``00`` only with a separator somewhere), 9-15 with a trunk ``0``, 10 for a North
    American number."""
    limits = load_rules()["validators"]["phone"]
    number = text
    for position, char in enumerate(text):
        if char.isascii() and char.isalpha():  # the extension starts at its first letter
            number = text[:position].rstrip(" ")
            break
    if number.startswith(("+", "00")):
        body = number[1:] if number.startswith("+") else number[2:]
        if number.startswith("00") and body.isdigit():  # 00 and digits only: an order number as often as a phone
            return False
        digits = "".join(c for c in body.replace("(0)", "", 1) if c.isascii() and c.isdigit())
        return limits["min_digits"] <= len(digits) <= limits["max_digits"]
    digits = "".join(c for c in number if c.isascii() and c.isdigit())
    if number.startswith(("0", "(0")):
        return limits["national_min_digits"] <= len(digits) <= limits["max_digits"]
    return len(digits) == 10


def ssn_valid(text: str) -> bool:
    """A US Social Security number the SSA can have issued: nine digits (``NNN-NN-NNNN``, ``NNN NN NNNN`` or bare), one
    kind of separator, area not ``000``, ``666`` or ``900``-``999``, group not ``00``, serial not ``0000``, not one digit
    repeated, not one of the numbers known to be fakes (``rules.json``: 078-05-1120 from a wallet insert, 219-09-9999
    from an SSA leaflet, 123-45-6789)."""
    rules = load_rules()["validators"]["ssn"]
    separators = {char for char in text if not char.isascii() or not char.isdigit()}
    digits = "".join(char for char in text if char not in separators)
    if len(separators) > 1 or len(digits) != 9:
        return False
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    return (area not in rules["invalid_areas"] and int(area) < rules["invalid_area_min"] and group != "00"
            and serial != "0000" and len(set(digits)) > 1 and digits not in rules["invalid_numbers"])


VALIDATORS: dict[str, Callable[[str], bool]] = {
    "credit_card": credit_card_valid,
    "iban": iban_valid,
    "ipv6": ipv6_valid,
    "phone": phone_valid,
    "ssn": ssn_valid,
}


@lru_cache(maxsize=1)
def _compiled() -> list[tuple[str, Any, Optional[Callable[[str], bool]]]]:
    found = []
    for entry in load_rules()["patterns"]:
        flags = regex.IGNORECASE if entry.get("ignore_case") else 0  # the shipped patterns spell out both cases
        validator = VALIDATORS[entry["validator"]] if entry.get("validator") else None
        found.append((entry["type"], regex.compile(entry["pattern"], flags), validator))
    return found


def _valid_length(found: str, validator: Optional[Callable[[str], bool]]) -> int:
    """How much of a match is accepted: all of it, its longest valid prefix ending before a space or ``-``, or 0."""
    if validator is None or validator(found):
        return len(found)
    for cut in range(len(found) - 1, 0, -1):
        if found[cut] in " -" and found[cut - 1] not in " -" and validator(found[:cut]):
            return cut
    return 0


#: The pattern types, in the order of ``rules.json`` (each once).
PATTERN_TYPES: tuple[str, ...] = tuple(dict.fromkeys(entry["type"] for entry in load_rules()["patterns"]))


def find_pii(text: str, types: Optional[Iterable[str]] = None) -> list[EntitySpan]:
    """Pattern spans of ``text``: each pattern in the order of ``rules.json``, validated, never overlapping.

    Every pattern runs and ``types`` filters afterwards, so that what a span is does not depend on what was asked
    for (the digits of a valid IBAN are never reported as a phone number). A match its validator refuses is cut
    back to its longest prefix that ends before a space or ``-`` and passes (``BE68 5390 0754 7034 here``: the
    pattern also took ``here``), and the search goes on right after what was accepted, or one character after
    the refused match's start.

    Args:
        text: the document.
        types: pattern types to look for (default: all of :data:`PATTERN_TYPES`).

    Returns:
        Spans (score 1.0) sorted by start.
    """
    wanted = set(PATTERN_TYPES if types is None else types)
    accepted: list[EntitySpan] = []
    if not wanted:
        return []
    for kind, pattern, validator in _compiled():
        position = 0
        while True:
            match = pattern.search(text, position)
            if match is None:
                break
            start = match.start()
            length = _valid_length(match.group(), validator)
            end = start + length
            if length and not any(start < span.end and span.start < end for span in accepted):
                accepted.append(EntitySpan(start, end, kind, text[start:end], 1.0))
                position = end
            else:
                position = start + 1
    return sorted((span for span in accepted if span.type in wanted), key=lambda span: span.start)
