"""Synthetic personal data for training and testing redaction (docs/synthetic.md).

- :mod:`~flair_modernbert.synthetic.templates`: the project's own templates (chats, e-mails, tickets, forms,
  letters, logs, CVs, shipping, HR and medical notes, and text without personal data).
- :mod:`~flair_modernbert.synthetic.values`: Faker values of one locale in the formats people write them.
- :mod:`~flair_modernbert.synthetic.generator`: ``generate_records``, seeded records of text and spans.
- :mod:`~flair_modernbert.synthetic.jsonl`: ``write_records``, span JSON lines written atomically.
"""

from flair_modernbert.synthetic.generator import TYPES, canonical_types, generate_records
from flair_modernbert.synthetic.jsonl import SynthSummary, write_records
from flair_modernbert.synthetic.values import LOCALES

__all__ = ["LOCALES", "SynthSummary", "TYPES", "canonical_types", "generate_records", "write_records"]
