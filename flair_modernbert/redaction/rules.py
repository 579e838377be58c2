"""The one definition of the redaction rules: ``rules.json`` beside this module (see docs/redaction.md)."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

__all__ = ["RULES_PATH", "FORMAT", "load_rules"]

#: The rules file; ``flair-modernbert export`` copies it into every export folder as ``rules.json``.
RULES_PATH = Path(__file__).with_name("rules.json")
FORMAT = "flair-modernbert-redaction-rules"


@lru_cache(maxsize=1)
def load_rules() -> dict[str, Any]:
    """The parsed rules file (cached; treat it as read-only)."""
    rules = json.loads(RULES_PATH.read_text(encoding="utf-8"))
    if rules.get("format") != FORMAT or rules.get("version") != 1:
        raise ValueError(f"{RULES_PATH}: not a {FORMAT} file of version 1")
    return rules
