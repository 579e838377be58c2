"""The one rule that splits raw text into sentences and words, with character offsets into the text.

``predict``, ``redact`` and the exported JavaScript module (``flair_modernbert/export/js``) implement the same
rule, so a span found in the browser has the offsets Python reports. The rule is a handful of regular
expressions over Unicode properties, written identically in Python (``regex``) and JavaScript (``/u``):

- **Separators** belong to no word: white space (``\\t \\n \\v \\f \\r``, U+0085, U+00A0, U+1680, U+2000–U+200A,
  U+2028, U+2029, U+202F, U+205F, U+3000), control characters (``\\p{Cc}``), invisible format characters
  (``\\p{Cf}``: zero-width space and joiners, BOM, direction marks) and variation selectors (U+FE00–U+FE0F,
  U+E0100–U+E01EF), wherever they stand: ``❤️`` is the word ``❤`` and a separator, ``Smith︎`` is ``Smith``. A
  name after twelve zero-width spaces, or after emoji with U+FE0F, starts at its first letter.
- **Words**: an optional ``@``/``#`` (handles, hashtags), then letters, digits and combining marks other than
  variation selectors (``[\\p{L}\\p{N}\\p{M}]+``), with inner ``'``, ``’``, ``-``, ``_``, ``.`` or ``@`` joining such runs
  (``O'Neil``, ``Jean-Luc``, ``e.g``, ``jane.doe@mail``); or a URL (``http://``, ``https://``, ``www.`` up to the
  next separator, without trailing punctuation).
- Any other character (punctuation, symbols, emoji) is a word of its own, with the combining marks after it.
- **Sentences** end after a word made only of ``.``, ``!``, ``?``, ``…``, ``。``, ``！`` or ``？``, and at a line
  break (``\\n``, ``\\r``, ``\\v``, ``\\f``, U+0085, U+2028, U+2029) between two words.
- **Abbreviations**: a word that is exactly ``.``, glued (no separator between) to the word before it, ends no
  sentence when that word and the next one fit a row of :data:`ABBREVIATIONS` (the word matched whole and
  regardless of case, so ``dr. jane doe`` is read as ``Dr. Jane Doe``; the next word by its start, case counts):

  1. an initial (one cased letter, alone or after ``-`` or ``.``: ``V.``, ``j.``, ``Hans-H.``, ``U.S.``, ``e.g.``),
     a title or a word inside names, addresses and company names (``Mr``, ``Dr``, ``Prof``, ``St``, ``Apt``,
     ``Co`` of ``& Co. KG``, ``Ave``, ``Blvd``, German ``…str`` of ``Hauptstr. 5``, French ``Mme``, ``Rép.``…),
     before any word: ``Phillip V. Graf``, ``Dr. Jane Doe``, ``Apt. 237``, ``St. Louis`` stay one sentence;
  2. ``No``, ``Nos``, ``Nr``, ``Ext``, ``Tel``, ``Fax``, ``Art`` before a number (a word starting with a digit,
     ``+``, ``(`` or ``#``): ``No. 5``, ``ext. 655``, ``Tel. +49 …``; ``I said no. Then …`` ends;
  3. ``Inc``, ``Ltd``, ``Corp``, ``LLC``, ``PLC``, ``Bros``, ``Jr``, which end names and often sentences, before a
     word that does not start with an upper-case letter: ``Acme Inc. We …`` ends, ``Acme Inc., a …`` and
     ``acme inc. and …`` do not.

  A missed sentence end only joins two sentences; a false one cuts a name in two (each half tagged without the
  other), so the lists lean to joining: ``He got a B. Then …`` and, in lower-cased text, ``acme inc. we …`` are
  one sentence. Numbers before ``.`` (German ``5. Mai``) still end a sentence.

Offsets count Unicode code points (Python string indices); ``text[start:end]`` is the word.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import regex

__all__ = ["Word", "SEPARATOR", "WORD", "SENTENCE_END", "LINE_BREAK", "ABBREVIATIONS", "words", "sentences"]

#: Characters that belong to no word (the class body, shared verbatim with the JavaScript port).
SEPARATOR = (
    r"\t\n\x0B\f\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000"
    r"\p{Cc}\p{Cf}\uFE00-\uFE0F\U000E0100-\U000E01EF"
)
#: variation selectors only choose a glyph: they belong to no word, even right after a letter or an emoji
_SELECTORS = r"\uFE00-\uFE0F\U000E0100-\U000E01EF"
_CORE = r"(?:(?![" + _SELECTORS + r"])[\p{L}\p{N}\p{M}])"
#: One word (see the module docstring); tried in this order.
WORD = (
    r"(?:https?://|www\.)[^" + SEPARATOR + r"]*[^" + SEPARATOR + r".,;:!?'\")\]}>]"
    r"|[@#]?" + _CORE + r"+(?:['’\-_.@]" + _CORE + r"+)*"
    r"|[^" + SEPARATOR + r"](?:(?![" + _SELECTORS + r"])\p{M})*"
)
#: A word that ends a sentence.
SENTENCE_END = r"^[.!?…。！？]+$"
#: A line break between two words ends a sentence.
LINE_BREAK = r"[\n\x0B\f\r\x85\u2028\u2029]"

#: ``(word before, next word)``: a ``.`` glued to a word matching the first (whole, any case) ends no sentence when the
#: next word's start matches the second (case counts). Shared verbatim with the JavaScript port.
ABBREVIATIONS = (
    (
        r"(?:.*[.\-])?[\p{Lu}\p{Ll}\p{Lt}]\p{M}*"
        r"|mr|mrs|ms|mme|mlle|dr|prof|sr|sra|srta|st|ste|sta|mt|rev|hon|gen|capt|lt|col|sgt|hr|hrn|fr|dipl|ing|mag"
        r"|dott|sig|apt|co|ave|av|avda|blvd|bd|rd|[\p{L}\p{M}\-]*str|pl|dept|rép|dém",
        r"",
    ),
    (r"no|nos|nr|ext|tel|fax|art", r"[\p{N}+(#]"),
    (r"inc|ltd|corp|llc|plc|bros|jr", r"[^\p{Lu}\p{Lt}]"),
)

_WORD = regex.compile(WORD)
_END = regex.compile(SENTENCE_END)
_BREAK = regex.compile(LINE_BREAK)
_ABBREVIATIONS = [(regex.compile(r"(?:" + before + r")\Z", regex.IGNORECASE), regex.compile(after))
                  for before, after in ABBREVIATIONS]


@dataclass(frozen=True)
class Word:
    """A word of a text: ``text[start:end]``."""

    text: str
    start: int
    end: int


def words(text: str) -> list[Word]:
    """The words of ``text`` in order (see the module docstring)."""
    return [Word(match.group(), match.start(), match.end()) for match in _WORD.finditer(text)]


def _abbreviation_dot(found: list[Word], i: int) -> bool:
    """Whether ``found[i]`` is the ``.`` of an abbreviation, which ends no sentence (see :data:`ABBREVIATIONS`)."""
    if found[i].text != "." or i == 0 or i + 1 == len(found) or found[i - 1].end != found[i].start:
        return False
    before, after = found[i - 1].text, found[i + 1].text
    return any(word.match(before) and next_word.match(after) for word, next_word in _ABBREVIATIONS)


def sentences(text: str) -> list[list[Word]]:
    """The sentences of ``text``, each a non-empty list of words."""
    result: list[list[Word]] = []
    current: list[Word] = []
    found = words(text)
    for i, word in enumerate(found):
        if current and _BREAK.search(text, current[-1].end, word.start):
            result.append(current)
            current = []
        current.append(word)
        if _END.match(word.text) and not _abbreviation_dot(found, i):
            result.append(current)
            current = []
    if current:
        result.append(current)
    return result


def iter_words(text: str) -> Iterator[Word]:
    """Words one by one, for very long texts."""
    for match in _WORD.finditer(text):
        yield Word(match.group(), match.start(), match.end())
