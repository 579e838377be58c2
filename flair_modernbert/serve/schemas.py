"""Request and response bodies of the service (pydantic), the same JSON as the command line's lines.

A request carries one text (``"text"``) or several (``"texts"``); each text is a string or, as a JSON line of
``predict``/``redact``, an object with a ``"text"`` field whose other fields come back unchanged. One text gives
one result object (the CLI's line); several give ``{"results": [...]}`` in order.
"""

from __future__ import annotations

import math
from typing import Any, Optional, Union

from pydantic import (BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr, field_validator,
                      model_validator)

__all__ = [
    "TextItem",
    "PredictRequest",
    "RedactRequest",
    "RestoreRequest",
    "Span",
    "PredictResult",
    "PredictResults",
    "SpanRecord",
    "EntityRecord",
    "RedactResult",
    "RedactResponse",
    "RedactResponses",
    "RestoreResult",
    "RestoreResults",
    "ErrorResponse",
]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TextItem(BaseModel):
    """A text as a JSON line: ``"text"`` plus any other fields, which the result carries back."""

    model_config = ConfigDict(extra="allow")

    text: StrictStr


Text = Union[StrictStr, TextItem]


class _Texts(_Body):
    text: Optional[Text] = Field(None, description="one text (the answer is one result object)")
    texts: Optional[list[Text]] = Field(None, description="several texts (the answer is {\"results\": [...]})")

    @model_validator(mode="after")
    def _one_of(self) -> "_Texts":
        if (self.text is None) == (self.texts is None):
            raise ValueError('give either "text" (one text) or "texts" (a list of texts)')
        return self

    def items(self) -> list[Text]:
        """The texts of the request, in order."""
        return [self.text] if self.texts is None else list(self.texts)


Types = Union[StrictStr, list[StrictStr], None]
_TYPES_HELP = ('entity types: a list or a comma-separated string of the model\'s types and pattern types '
               '(email, phone, ...), case-insensitive, or "all"; default: the server\'s --types, else the model\'s '
               'types for /predict and all types for /redact')


_BIAS_HELP = ("recall knob: the O tag's score is lowered by this much before decoding, so higher values hide more "
              "(0: the model's own decoding; docs/recall.md); default: the server's --recall-bias, else the model's")


class PredictRequest(_Texts):
    """``POST /predict``."""

    types: Types = Field(None, description=_TYPES_HELP)
    recall_bias: Optional[StrictFloat] = Field(None, description=_BIAS_HELP)

    @field_validator("recall_bias")
    @classmethod
    def _finite(cls, value: Optional[float]) -> Optional[float]:
        if value is not None and not math.isfinite(value):
            raise ValueError(f"recall_bias: expected a finite number, got {value}")
        return value


class RedactRequest(PredictRequest):
    """``POST /redact``: one numbering of placeholders across all texts of the request."""

    placeholder: Optional[StrictStr] = Field(None, description="placeholder template with {type} and {n}; "
                                                               "default [{type}_{n}]")
    join_partial: StrictBool = Field(True, description="a mention equal to the first or last words of an earlier "
                                                       "entity of its type joins it (Doe -> Jane Doe)")


class RestoreRequest(_Texts):
    """``POST /restore``: put the original text back into (an LLM's answer to) redacted text."""

    mapping: Union[dict[StrictStr, StrictStr], list[dict[StrictStr, Any]]] = Field(
        ..., description="what /redact returned: its span records (\"spans\" of one or all results) and/or entity "
                         "records (\"entities\"), or a dict placeholder -> original text")
    line: Optional[StrictInt] = Field(None, description="the line number of the span map the text is (restores "
                                                        "each mention's own text); see docs/redaction.md")


class Span(BaseModel):
    """An entity span: ``text[start:end]`` (code points)."""

    start: int
    end: int
    type: str
    text: str
    score: float


class PredictResult(BaseModel):
    """What ``predict`` prints for a line (plus the fields of a JSON line)."""

    model_config = ConfigDict(extra="allow")

    text: str
    spans: list[Span]


class PredictResults(BaseModel):
    """Results of several texts, in order."""

    results: list[PredictResult]


class SpanRecord(BaseModel):
    """A replaced mention, as in a span map's line record."""

    placeholder: str
    type: str
    text: str
    start: int
    end: int
    redacted_start: int
    redacted_end: int


class EntityRecord(BaseModel):
    """An entity, as in a span map's entity record: its placeholder and its first mention."""

    entity: str
    type: str
    text: str


class RedactResult(BaseModel):
    """A redacted text and the mentions replaced in it (plus the fields of a JSON line)."""

    model_config = ConfigDict(extra="allow")

    text: str
    spans: list[SpanRecord]


class _RedactInfo(BaseModel):
    entities: list[EntityRecord] = Field(..., description="every entity of the request, once")
    placeholder: str = Field(..., description="the template used")
    types: list[str] = Field(..., description="the types replaced")
    recall_bias: float = Field(..., description="the recall bias the texts were tagged with")


class RedactResponse(RedactResult, _RedactInfo):
    """``/redact`` of one text."""


class RedactResponses(_RedactInfo):
    """``/redact`` of several texts: one numbering across them."""

    results: list[RedactResult]


class RestoreResult(BaseModel):
    """A restored text and the placeholders that the mapping does not know (left as they were)."""

    text: str
    unknown: list[str]


class RestoreResults(BaseModel):
    """Results of several texts, in order."""

    results: list[RestoreResult]


class ErrorResponse(BaseModel):
    """Every error: what went wrong, and the request field it concerns (``texts.2``, ``types``, ``body``)."""

    error: str
    field: Optional[str] = None
