"""Fake PII values of one locale, from Faker, in the formats people write them.

Faker gives the raw values (names, streets, cities, companies, phone numbers in the locale's own formats, IBANs,
card numbers); this module adds the variety Faker lacks: dates of birth in several notations, e-mail addresses made
from a person's name, phone extensions and international prefixes, Maestro numbers of every length, cards and IBANs
with and without separators, and US social security numbers that obey the area/group/serial rules. Every choice of
format is drawn from the caller's ``random.Random``, every value from the locale's seeded Faker, so a seed fixes
the output.
"""

from __future__ import annotations

import ipaddress
import logging
import random
import unicodedata
from dataclasses import dataclass
from typing import Optional

from faker import Faker

from flair_modernbert.redaction.patterns import luhn_valid

logger = logging.getLogger(__name__)

__all__ = ["IBAN_LOCALES", "LOCALES", "LocaleValues", "Person", "check_locales"]

#: Locales the generator accepts, with the country calling code used for international phone numbers.
LOCALES: dict[str, str] = {
    "en_US": "1",
    "en_GB": "44",
    "de_DE": "49",
    "fr_FR": "33",
    "es_ES": "34",
    "it_IT": "39",
    "nl_NL": "31",
}

#: Locales whose Faker writes IBANs of their own country (en_US borrows one of these).
IBAN_LOCALES = ("en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL")

#: How many years back a bare year of ``date`` reaches (from the drawn date's year).
_BARE_YEAR_SPAN = 70
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"]
_TITLES = {"female": ["Ms.", "Mrs.", "Miss", "Dr.", "Prof."], "male": ["Mr.", "Dr.", "Prof."]}
# international numbers from elsewhere, '#' a random digit: text anywhere quotes foreign numbers
_FOREIGN_PHONES = [
    "+41 ## ### ## ##", "+41 (0)## ### ## ##", "+43 ### ######", "+45 ## ## ## ##", "+46 ##-### ## ##",
    "+47 ### ## ###", "+48 ### ### ###", "+353 ## ### ####", "+61 # #### ####", "+81 ##-####-####",
    "+1 (###) ###-####", "+44 20 #### ####", "+49 ### #######", "+33 # ## ## ## ##", "+32 ### ## ## ##",
    "+351 ### ### ###", "+420 ### ### ###", "+91 ##### #####", "+55 11 #####-####", "+27 ## ### ####",
]
# (network, own prefixes, lengths): Faker's numbers, or ours where Faker's maestro numbers are 12 digits only
_CARDS = [
    ("visa16", None, [16]), ("visa13", None, [13]), ("visa19", None, [19]), ("mastercard", None, [16]),
    ("amex", None, [15]), ("discover", None, [16]), ("diners", None, [14]), ("jcb16", None, [16]),
    ("maestro", None, [12]), ("maestro", ["5018", "5020", "5038", "5893", "6304", "6759", "6761", "6762", "6763"],
     [12, 13, 14, 15, 16, 17, 18, 19]),
]
_ASCII = str.maketrans({"ß": "ss", "æ": "ae", "ø": "o", "œ": "oe", "ł": "l", "đ": "d", "ð": "d", "þ": "th",
                        "ı": "i"})


def check_locales(locales: tuple[str, ...]) -> None:
    """Raise ``ValueError`` naming the first locale the generator does not know."""
    if not locales:
        raise ValueError(f"locales is empty; choose from {', '.join(LOCALES)}")
    for locale in locales:
        if locale not in LOCALES:
            raise ValueError(f"unknown locale {locale!r}; the synthetic generator knows {', '.join(LOCALES)}")


def _ascii(text: str) -> str:
    """``Grégoire van der Berg`` -> ``gregoirevanderberg``: the letters an e-mail local part can hold."""
    decomposed = unicodedata.normalize("NFKD", text.lower().translate(_ASCII))
    return "".join(char for char in decomposed if char.isascii() and char.isalnum())


def _digits(pattern: str, rng: random.Random) -> str:
    return "".join(str(rng.randrange(10)) if char == "#" else char for char in pattern)


def _group(digits: str, sizes: list[int], separator: str) -> str:
    parts, start = [], 0
    for size in sizes:
        if start >= len(digits):
            break
        parts.append(digits[start:start + size])
        start += size
    if start < len(digits):
        parts.append(digits[start:])
    return separator.join(parts)


@dataclass
class Person:
    """One person of a record: the name parts, so that every mention (and the e-mail) agrees."""

    first: str
    last: str
    gender: str
    middle: Optional[str] = None

    @property
    def full(self) -> str:
        return f"{self.first} {self.middle} {self.last}" if self.middle else f"{self.first} {self.last}"


class LocaleValues:
    """Values of one locale: one seeded Faker, reused for every record.

    Args:
        locale: a key of :data:`LOCALES`.
        seed: seeds this locale's Faker (``Faker.seed_instance``).
        iban_fakers: Fakers to borrow IBANs from when this locale has no IBAN of its own (en_US).
    """

    def __init__(self, locale: str, seed: int, iban_fakers: Optional[list[Faker]] = None) -> None:
        self.locale = locale
        self.faker = Faker(locale)
        self.faker.seed_instance(seed)
        for provider in self.faker.providers:
            # it_IT's city list is built from a set: its order, and so the city a seed gives, follows the hash seed
            if isinstance(getattr(provider, "cities", None), list):
                provider.cities = sorted(provider.cities)
        self.country_code = LOCALES[locale]
        self.iban_fakers = [self.faker] if locale in IBAN_LOCALES else list(iban_fakers or [])

    # ------------------------------------------------------------------------------------------------ people
    def person(self, rng: random.Random) -> Person:
        gender = "female" if rng.random() < 0.5 else "male"
        first = self.faker.first_name_female() if gender == "female" else self.faker.first_name_male()
        middle = None
        if rng.random() < 0.08:
            middle = self.faker.first_name()[0] + "."
        elif rng.random() < 0.05:
            middle = self.faker.first_name()
        return Person(first=first, last=self.faker.last_name(), gender=gender, middle=middle)

    @staticmethod
    def title(person: Person, rng: random.Random) -> str:
        return rng.choice(_TITLES[person.gender])

    def email_of(self, person: Person, rng: random.Random) -> str:
        """An address made from the person's name (``jane.doe@``, ``jdoe85@``...), now and then an unrelated one."""
        first, last = _ascii(person.first) or "info", _ascii(person.last) or "mail"
        if rng.random() < 0.12:
            return self.faker.free_email()
        local = rng.choice([
            f"{first}.{last}", f"{first}.{last}", f"{first[0]}.{last}", f"{first}{last}", f"{first}_{last}",
            f"{first[0]}{last}", f"{last}.{first}", f"{first}", f"{last}{first[0]}",
            f"{first}.{last}{rng.randint(1, 99)}", f"{first}{rng.randint(1950, 2005)}",
        ])
        domain = self.faker.free_email_domain() if rng.random() < 0.6 else self.faker.domain_name()
        return f"{local}@{domain}"

    def email(self, rng: random.Random) -> str:
        """An address of no one in particular: a role mailbox or Faker's."""
        if rng.random() < 0.4:
            role = rng.choice(["info", "support", "billing", "hr", "contact", "noreply", "office", "sales", "help"])
            return f"{role}@{self.faker.domain_name()}"
        return self.faker.email()

    # ------------------------------------------------------------------------------------------------ places
    def street(self) -> str:
        return " ".join(self.faker.street_address().split())

    def address_lines(self) -> list[str]:
        """A full postal address (street, postcode, city ...), one string per line."""
        return [" ".join(line.split()) for line in self.faker.address().split("\n") if line.strip()]

    def city(self) -> str:
        return self.faker.city()

    def country(self) -> str:
        return self.faker.country()

    def place(self, rng: random.Random) -> str:
        """A city, a country, or a state where the locale has them."""
        roll = rng.random()
        if roll < 0.55:
            return self.faker.city()
        if roll < 0.8 or not hasattr(self.faker, "state"):
            return self.faker.country()
        return self.faker.state()

    def company(self) -> str:
        return " ".join(self.faker.company().split())

    # ------------------------------------------------------------------------------------------------ numbers
    def phone(self, rng: random.Random) -> str:
        """The locale's own formats, international forms of them, foreign numbers, extensions."""
        roll = rng.random()
        if roll < 0.1:
            number = _digits(rng.choice(_FOREIGN_PHONES), rng)
        elif roll < 0.25 and self.country_code == "1":
            area, exchange, line = (str(rng.randint(201, 989)), str(rng.randint(200, 999)),
                                    _digits("####", rng))
            number = rng.choice([f"+1 {area} {exchange} {line}", f"+1 ({area}) {exchange}-{line}",
                                 f"{area} {exchange} {line}", f"({area}) {exchange} {line}",
                                 f"{area}.{exchange}.{line}", f"1-{area}-{exchange}-{line}"])
        else:
            number = self.faker.phone_number()
            national = number.startswith("0") and not number.startswith("00")
            if national and rng.random() < 0.3:
                number = f"+{self.country_code} {number[1:].lstrip('-. ')}"
        if "x" not in number and rng.random() < 0.08:
            number += rng.choice([f" x{rng.randint(10, 9999)}", f" ext. {rng.randint(1, 999)}",
                                  f" ext {rng.randint(10, 9999)}", f"x{rng.randint(100, 9999)}"])
        return number

    @staticmethod
    def ssn(rng: random.Random) -> str:
        """A US SSN by the SSA's rules: area 001-899 but not 666, group 01-99, serial 0001-9999."""
        area = rng.randint(1, 898)
        area = area + 1 if area >= 666 else area
        separator = "-" if rng.random() < 0.8 else " "
        return f"{area:03d}{separator}{rng.randint(1, 99):02d}{separator}{rng.randint(1, 9999):04d}"

    def card(self, rng: random.Random) -> str:
        """A Luhn-valid card number of a real network (12-19 digits), grouped with spaces or dashes, or not."""
        network, prefixes, lengths = rng.choice(_CARDS)
        if prefixes is None:
            digits = self.faker.credit_card_number(network)
        else:
            length = rng.choice(lengths)
            body = rng.choice(prefixes) + _digits("#" * (length - 5), rng)
            digits = next(body + str(check) for check in range(10) if luhn_valid(body + str(check)))
        separator = rng.choice(["", " ", " ", "-"])
        if not separator:
            return digits
        # the groups printed on cards of each length (no lone trailing digit)
        sizes = {13: [4, 3, 3, 3], 14: [4, 6, 4], 15: [4, 6, 5], 17: [4, 4, 4, 5], 18: [4, 4, 4, 6]}.get(
            len(digits), [4, 4, 4, 4, 3])
        return _group(digits, sizes, separator)

    def iban(self, rng: random.Random) -> str:
        """A mod-97-valid IBAN, compact or in groups of four."""
        faker = self.iban_fakers[rng.randrange(len(self.iban_fakers))]
        compact = faker.iban()
        return _group(compact, [4] * 9, " ") if rng.random() < 0.6 else compact

    # ------------------------------------------------------------------------------------------------ dates
    def birth_date(self, rng: random.Random) -> str:
        value = self.faker.date_of_birth(minimum_age=18, maximum_age=90)
        # a year of birth alone narrows a person down too ("DOB: 1985")
        return str(value.year) if rng.random() < 0.05 else format_date(value, rng, self.locale)

    def date(self, rng: random.Random) -> str:
        value = self.faker.date_between(start_date="-3y", end_date="+1y")
        roll = rng.random()
        if roll < 0.05:
            return _WEEKDAYS[value.weekday()]  # "see you on Thursday": a date without its day number
        if roll < 0.1:
            # a year alone is as often decades back as recent ("founded in 1994", "the 1986 film"): a student with
            # few layers does not generalise from recent years to old ones. Spread from the date already drawn,
            # not drawn anew, so the stream of draws (every other value of a seed) stays as it was.
            return str(value.year - value.toordinal() % _BARE_YEAR_SPAN)
        return format_date(value, rng, self.locale)

    # ------------------------------------------------------------------------------------------------ internet
    def url(self, rng: random.Random, person: Optional[Person] = None) -> str:
        roll = rng.random()
        if person is not None and roll < 0.5:
            slug = f"{_ascii(person.first)}-{_ascii(person.last)}"
            return rng.choice([f"https://www.linkedin.com/in/{slug}", f"https://github.com/{slug}",
                               f"https://{slug}.com", f"www.{_ascii(person.last)}-photography.com"])
        if roll < 0.3:
            return self.faker.url().rstrip("/") if rng.random() < 0.5 else self.faker.url()
        if roll < 0.6:
            return self.faker.uri()
        if roll < 0.8:
            return f"www.{self.faker.domain_name()}"
        return f"https://{self.faker.domain_name()}/{self.faker.uri_path()}?id={rng.randint(1, 99999)}"

    def ip(self, rng: random.Random) -> str:
        roll = rng.random()
        if roll < 0.5:
            return self.faker.ipv4_public()
        if roll < 0.75:
            return self.faker.ipv4_private()
        address = self.faker.ipv6()
        return str(ipaddress.IPv6Address(address)) if rng.random() < 0.5 else address


def format_date(value: "object", rng: random.Random, locale: str = "en_US") -> str:
    """A date written one of the ways people write them (``March 3, 1985``, ``03/04/1985``, ``1985-03-04`` ...)."""
    day, month, year = value.day, value.month, value.year  # type: ignore[attr-defined]
    name = _MONTHS[month - 1]
    suffix = "th" if 11 <= day <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    us = locale == "en_US"
    formats = [
        f"{name} {day}, {year}", f"{day} {name} {year}", f"{name[:3]} {day}, {year}", f"{day} {name[:3]} {year}",
        f"{year}-{month:02d}-{day:02d}", f"{day:02d}.{month:02d}.{year}",
        f"{month:02d}/{day:02d}/{year}" if us else f"{day:02d}/{month:02d}/{year}",
        f"{month}/{day}/{year}" if us else f"{day}/{month}/{year}",
        f"{day}{suffix} {name} {year}", f"{name} {day}{suffix}, {year}",
        f"{day:02d}-{month:02d}-{year}", f"{month:02d}/{day:02d}/{year % 100:02d}" if us
        else f"{day:02d}/{month:02d}/{year % 100:02d}",
    ]
    roll = rng.random()
    if roll < 0.12:
        # a date with its time, as logs, forms and exports write it: the time belongs to the date span
        hour, minute, second = rng.randrange(24), rng.randrange(60), rng.randrange(60)
        return rng.choice([
            f"{year}-{month:02d}-{day:02d} {hour:02d}:{minute:02d}:{second:02d}",
            f"{year}-{month:02d}-{day:02d} {hour:02d}:{minute:02d}:{second:02d}.{rng.randrange(10 ** 6):06d}",
            f"{year}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}Z",
            f"{rng.choice(formats)} {hour:02d}:{minute:02d}",
            f"{rng.choice(formats)} {(hour % 12) or 12}:{minute:02d} {'AM' if hour < 12 else 'PM'}",
        ])
    if roll < 0.2:
        weekday = _WEEKDAYS[value.weekday()]  # type: ignore[attr-defined]
        return rng.choice([f"{weekday}, {name} {day}, {year}", f"{weekday} {day} {name} {year}",
                           f"{weekday[:3]} {day} {name[:3]} {year}"])
    return rng.choice(formats)
