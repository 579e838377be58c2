"""A Presidio recognizer backed by a trained tagger, so an ``AnalyzerEngine`` reports the tagger's entities.

:class:`FlairModernBertRecognizer` is a ``presidio_analyzer.EntityRecognizer``: Presidio's analyzer calls it next
to its own recognizers (e-mail, phone, credit card, ...), and its results go through Presidio's anonymizer like any
other. Text is tagged by :func:`flair_modernbert.inference.tag_documents`, so segmentation, offsets (code points,
as Presidio counts them) and scores are those of ``flair-modernbert predict``. The recognizer needs no spaCy
model: it ignores Presidio's NLP artifacts.

Presidio's default NLP engine loads spaCy's ``en_core_web_lg``, which is not on PyPI; :func:`offline_nlp_engine`
gives Presidio's own ``SpacyNlpEngine`` a blank spaCy pipeline (a tokenizer, no trained weights) saved to a folder,
and :func:`build_analyzer` puts an ``AnalyzerEngine`` together from it, Presidio's predefined recognizers and ours.

Requires ``pip install "flair-modernbert[presidio]"`` (``presidio-analyzer``, ``presidio-anonymizer``).
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence, Union

try:
    from presidio_analyzer import AnalysisExplanation, AnalyzerEngine, EntityRecognizer, RecognizerResult
    from presidio_analyzer.nlp_engine import NlpArtifacts, NlpEngine, NlpEngineProvider
except ImportError as error:  # the extra is optional: say how to get it
    raise ImportError(
        f"flair_modernbert.integrations.presidio needs Presidio ({error}); install it with: "
        'pip install "flair-modernbert[presidio]"'
    ) from error

from flair_modernbert.inference import Document, load_tagger, model_types, tag_documents
from flair_modernbert.redaction import PATTERN_TYPES, TypeSelection, load_rules

logger = logging.getLogger(__name__)

__all__ = [
    "PRESIDIO_ENTITIES",
    "FlairModernBertRecognizer",
    "presidio_entity_name",
    "offline_nlp_engine",
    "build_analyzer",
]

#: Presidio's entity names for our types, keyed by the first name of each of ``rules.json``'s ``type_groups``
#: (so ``PER``, ``gpe`` and ``corporation`` map as ``person``, ``location`` and ``organization`` do).
PRESIDIO_ENTITIES: dict[str, str] = {
    "person": "PERSON",
    "location": "LOCATION",
    "organization": "ORGANIZATION",
    "street_address": "STREET_ADDRESS",
    "date": "DATE_TIME",
    "email": "EMAIL_ADDRESS",
    "phone": "PHONE_NUMBER",
    "url": "URL",
    "ip": "IP_ADDRESS",
    "credit_card": "CREDIT_CARD",
    "iban": "IBAN_CODE",
    "ssn": "US_SSN",
}


def presidio_entity_name(kind: str) -> str:
    """Presidio's entity name for one of our types, by default.

    A type in one of ``rules.json``'s type groups that Presidio knows gets Presidio's name (``person``, ``PER``
    -> ``PERSON``; ``location``, ``gpe`` -> ``LOCATION``; ``organization``, ``corporation`` -> ``ORGANIZATION``;
    ``email`` -> ``EMAIL_ADDRESS``; ``phone`` -> ``PHONE_NUMBER``); any other is upper-cased, ``-`` and spaces as
    ``_`` (``creative-work`` -> ``CREATIVE_WORK``).
    """
    folded = kind.casefold()
    group = next((names for names in load_rules()["type_groups"] if folded in names), None)
    if group is not None and group[0] in PRESIDIO_ENTITIES:
        return PRESIDIO_ENTITIES[group[0]]
    return kind.upper().replace("-", "_").replace(" ", "_")


class FlairModernBertRecognizer(EntityRecognizer):
    """A Presidio recognizer that reports a trained tagger's entity spans.

    Example:
        >>> recognizer = FlairModernBertRecognizer("runs/names")            # doctest: +SKIP
        >>> analyzer = build_analyzer(recognizer)                           # doctest: +SKIP
        >>> analyzer.analyze("We met John Smith in Berlin .", language="en")  # doctest: +SKIP

    Args:
        model: a loaded tagger, or the path of a ``final-model.pt`` or training output folder
            (:func:`flair_modernbert.inference.load_tagger`).
        entity_mapping: our type -> Presidio entity name, over the defaults of :func:`presidio_entity_name`
            (keys case-insensitive); ``None`` as a value leaves that type out.
        include_patterns: also report the library's structured-PII pattern spans
            (:func:`flair_modernbert.redaction.find_pii`: e-mail, phone, URL, IP, card, IBAN, merged with the model's
            spans as ``predict --types`` does). Off by default: Presidio has pattern recognizers of its own.
        unit: ``sentence`` or ``document`` (see :func:`~flair_modernbert.inference.tag_documents`).
        mini_batch_size: sentences per forward pass.
        trust: load a model file with Flair's own loader, which runs code the file may contain.
        supported_language: the language code the analyzer is asked for.
        name: the recognizer's name in Presidio's results (default: the class name).

    Raises:
        ValueError: an ``entity_mapping`` key that is neither a type of the model nor a pattern type (with
            ``include_patterns``), or a mapping that leaves no entity at all.
    """

    def __init__(
        self,
        model: Union[str, Path, Any],
        entity_mapping: Optional[Mapping[str, Optional[str]]] = None,
        include_patterns: bool = False,
        unit: str = "sentence",
        mini_batch_size: int = 32,
        trust: bool = False,
        supported_language: str = "en",
        name: Optional[str] = None,
    ) -> None:
        if unit not in ("sentence", "document"):
            raise ValueError(f"unit: expected 'sentence' or 'document', got {unit!r}")
        self.tagger = load_tagger(model, trust=trust) if isinstance(model, (str, os.PathLike)) else model
        self.unit = unit
        self.mini_batch_size = mini_batch_size
        self.include_patterns = include_patterns
        self._check_mapping(entity_mapping or {})
        self.model_entities = self._entities(model_types(self.tagger), entity_mapping)
        self.pattern_entities = self._entities(PATTERN_TYPES, entity_mapping) if include_patterns else {}
        supported = list(dict.fromkeys([*self.model_entities.values(), *self.pattern_entities.values()]))
        if not supported:
            raise ValueError("entity_mapping leaves out every type: the recognizer would find nothing")
        super().__init__(supported_entities=supported, name=name, supported_language=supported_language)

    @staticmethod
    def _entities(kinds: Sequence[str], mapping: Optional[Mapping[str, Optional[str]]]) -> dict[str, str]:
        overrides = {key.casefold(): value for key, value in (mapping or {}).items()}
        return {
            kind: overrides.get(kind.casefold(), presidio_entity_name(kind))
            for kind in kinds
            if overrides.get(kind.casefold(), "") is not None
        }

    def load(self) -> None:
        """Nothing to load: the tagger is loaded (or given) when the recognizer is made."""

    def _check_mapping(self, mapping: Mapping[str, Optional[str]]) -> None:
        known = {kind.casefold() for kind in model_types(self.tagger)}
        if self.include_patterns:
            known |= {kind.casefold() for kind in PATTERN_TYPES}
        unknown = [key for key in mapping if key.casefold() not in known]
        if unknown:
            raise ValueError(
                f"entity_mapping: {', '.join(repr(key) for key in unknown)} is not a type of this model"
                f"{' nor a pattern type' if self.include_patterns else ''}; the model's types are: "
                f"{', '.join(model_types(self.tagger))}"
                + (f"; the pattern types are: {', '.join(PATTERN_TYPES)}" if self.include_patterns else "")
            )

    def analyze(
        self, text: str, entities: Optional[list[str]], nlp_artifacts: Optional[NlpArtifacts] = None
    ) -> list[RecognizerResult]:
        """Tag ``text`` and return the spans of the requested entities.

        Args:
            text: the text Presidio analyzes.
            entities: the Presidio entity names asked for; empty or ``None`` for all this recognizer supports.
            nlp_artifacts: Presidio's NLP results; not used (the tagger segments the text itself).

        Returns:
            One ``RecognizerResult`` per span: Presidio's entity name, character offsets into ``text``, the
            tagger's score (1.0 for pattern spans).
        """
        wanted = set(entities) if entities else None
        model = frozenset(kind for kind, entity in self.model_entities.items() if wanted is None or entity in wanted)
        patterns = frozenset(
            kind for kind, entity in self.pattern_entities.items() if wanted is None or entity in wanted
        )
        if not model and not patterns:
            return []
        document = Document(text)
        tag_documents(self.tagger, [document], TypeSelection(model, patterns), self.mini_batch_size, self.unit)
        results = []
        for span in document.spans:
            # a pattern span merged with a model span carries the pattern's type (docs/redaction.md, section 2)
            entities_of = self.pattern_entities if span.type in patterns else self.model_entities
            entity = entities_of.get(span.type)
            if entity is None:
                continue
            explanation = AnalysisExplanation(
                recognizer=self.name,
                original_score=span.score,
                textual_explanation=f"flair-modernbert tagger: {span.type}",
            )
            results.append(RecognizerResult(
                entity_type=entity,
                start=span.start,
                end=span.end,
                score=span.score,
                analysis_explanation=explanation,
                recognition_metadata={
                    RecognizerResult.RECOGNIZER_NAME_KEY: self.name,
                    RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
                },
            ))
        return results


def _blank_spacy_dir(language: str) -> Path:
    from flair_modernbert.encoder.random_models import cache_dir

    return cache_dir() / f"spacy-blank-{language}"


def offline_nlp_engine(language: str = "en", folder: Optional[Union[str, Path]] = None) -> NlpEngine:
    """Presidio's ``SpacyNlpEngine`` on a blank spaCy pipeline: tokens for Presidio, no model to download.

    The blank pipeline (``spacy.blank(language)``) is saved once to ``folder`` (default: the library's cache,
    ``$FLAIR_MODERNBERT_CACHE/spacy-blank-<language>``) and loaded from there through Presidio's
    ``NlpEngineProvider``. It has no NER (our recognizer brings the names) and no lemmas, so Presidio's context
    words ("phone", "call") do not raise scores; pass a real spaCy model's engine to :func:`build_analyzer` for that.

    Args:
        language: a language spaCy has a ``blank`` pipeline for.
        folder: where to keep the blank pipeline.
    """
    import spacy

    target = Path(folder) if folder is not None else _blank_spacy_dir(language)
    if not (target / "config.cfg").is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
        spacy.blank(language).to_disk(staging)
        try:
            # written beside the target and moved into place, so a concurrent reader never sees half a folder
            staging.rename(target)
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)
            if not (target / "config.cfg").is_file():
                raise
        logger.info("saved a blank spaCy %r pipeline to %s", language, target)
    provider = NlpEngineProvider(nlp_configuration={
        "nlp_engine_name": "spacy",
        "models": [{"lang_code": language, "model_name": str(target)}],
    })
    return provider.create_engine()


def build_analyzer(
    recognizer: Union[FlairModernBertRecognizer, str, Path, Any],
    nlp_engine: Optional[NlpEngine] = None,
    spacy_dir: Optional[Union[str, Path]] = None,
    **recognizer_options: Any,
) -> AnalyzerEngine:
    """An ``AnalyzerEngine`` with Presidio's predefined recognizers and a tagger's, working offline.

    Args:
        recognizer: a :class:`FlairModernBertRecognizer`, or a tagger or model path to make one from.
        nlp_engine: Presidio's NLP engine; default :func:`offline_nlp_engine` (a blank spaCy pipeline), in which
            case Presidio's ``SpacyRecognizer`` is left out (it reports the NLP engine's NER, which a blank pipeline
            does not have).
        spacy_dir: where :func:`offline_nlp_engine` keeps the blank pipeline.
        **recognizer_options: passed to :class:`FlairModernBertRecognizer` when ``recognizer`` is not one.

    Returns:
        The analyzer; ``analyzer.analyze(text, language=...)`` reports both kinds of entities.
    """
    if not isinstance(recognizer, FlairModernBertRecognizer):
        recognizer = FlairModernBertRecognizer(recognizer, **recognizer_options)
    elif recognizer_options:
        raise TypeError(f"recognizer options {sorted(recognizer_options)} given with a ready recognizer")
    language = recognizer.supported_language
    blank = nlp_engine is None
    engine = offline_nlp_engine(language, spacy_dir) if blank else nlp_engine
    analyzer = AnalyzerEngine(nlp_engine=engine, supported_languages=[language])
    if blank:
        analyzer.registry.remove_recognizer("SpacyRecognizer")
    analyzer.registry.add_recognizer(recognizer)
    return analyzer
