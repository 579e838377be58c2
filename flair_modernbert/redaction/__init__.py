"""Redaction rules shared by Python and the exported JavaScript module (docs/redaction.md).

- :mod:`~flair_modernbert.redaction.rules`: reads ``rules.json``, the one definition of patterns, type names and the
  restore grammar (the export copies it next to ``tagger.mjs``).
- :mod:`~flair_modernbert.redaction.patterns`: structured PII (e-mail, phone, URL, IP, card, IBAN) with validators.
- :mod:`~flair_modernbert.redaction.spans`: entity spans and the overlap rule between model and pattern spans.
- :mod:`~flair_modernbert.redaction.types`: ``--types`` over the model's types and the pattern types.
- :mod:`~flair_modernbert.redaction.pseudonyms`: one numbered placeholder per entity, the redacted text.
- :mod:`~flair_modernbert.redaction.restore`: span maps, and putting the original text back into an LLM's answer.

Nothing here imports torch or Flair: the rules run as fast as regular expressions do.
"""

from flair_modernbert.redaction.patterns import PATTERN_TYPES, find_pii
from flair_modernbert.redaction.pseudonyms import Pseudonyms, check_placeholder, redact_spans
from flair_modernbert.redaction.restore import Restored, SpanMap, restore
from flair_modernbert.redaction.rules import RULES_PATH, load_rules
from flair_modernbert.redaction.spans import EntitySpan, merge_spans
from flair_modernbert.redaction.types import TypeSelection

__all__ = [
    "EntitySpan",
    "PATTERN_TYPES",
    "Pseudonyms",
    "RULES_PATH",
    "Restored",
    "SpanMap",
    "TypeSelection",
    "check_placeholder",
    "find_pii",
    "load_rules",
    "merge_spans",
    "redact_spans",
    "restore",
]
