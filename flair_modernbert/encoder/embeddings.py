"""``ModernBertEmbeddings``: ModernBERT's unpadded forward pass inside Flair.

A drop-in subclass of Flair's ``TransformerWordEmbeddings``. Flair still gathers the words (and their
document context), tokenizes them and computes word ids; then, instead of running the transformer on a
padded ``(batch, longest)`` tensor, the subword sequences are packed into one stream
(:mod:`flair_modernbert.encoder.packing`), the HF model's own modules run over it with variable-length attention
(:mod:`flair_modernbert.encoder.unpadded`, :mod:`flair_modernbert.encoder.attention`), and word embeddings are gathered
straight from the stream (:mod:`flair_modernbert.encoder.pooling`). No pad token ever reaches a matmul.

For the same tokenization, layers and pooling, the word embeddings equal stock Flair's on the same model
(fp32, max abs difference ~1e-6), and so do the gradients in ``fine_tune`` mode.
"""

from __future__ import annotations

import contextlib
import logging
import random
from typing import Any, Iterator, Optional, Union

import flair
import torch
from flair.data import Sentence, Token
from flair.embeddings import TransformerWordEmbeddings
from flair.embeddings.base import register_embeddings
from flair.embeddings.transformer import combine_strided_tensors
from transformers import PretrainedConfig
from transformers.tokenization_utils_base import LARGE_INTEGER

from flair_modernbert.encoder.attention import check_backend_name, resolve_backend
from flair_modernbert.encoder.documents import document_of, plan_windows
from flair_modernbert.encoder.random_models import model_type_of, resolve_model_name
from flair_modernbert.encoder.packing import pack_padded
from flair_modernbert.encoder.pooling import gather_word_embeddings
from flair_modernbert.encoder.tokenization import ensure_prefix_space
from flair_modernbert.encoder.unpadded import base_modernbert, encode_packed

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "answerdotai/ModernBERT-base"


@register_embeddings
class ModernBertEmbeddings(TransformerWordEmbeddings):
    """Word embeddings from ModernBERT, computed without padding.

    Args:
        model: a ModernBERT model id (``answerdotai/ModernBERT-base``), a local directory, or
            ``random:tiny|small|base|large`` for a locally built random-weight model (smoke runs only).
        attention_backend: ``auto`` (default), ``flash_attn``, ``torch_varlen`` or ``sdpa``
            (see :mod:`flair_modernbert.encoder.attention`).
        final_norm: apply ModernBERT's final LayerNorm to the last layer (transformers'
            ``last_hidden_state``). Off by default, so layer ``-1`` means what it means in stock Flair:
            the last layer's output before that norm.
        use_context: as in Flair (``True`` = 64 words each side, an int = that many words each side), or
            ``"document"``: as much of the surrounding document as fits the model's window. Context that
            would not fit in ``model_max_length`` subtokens is trimmed from its far ends.
        allow_long_sentences: stride over sentences longer than the model's window (Flair's behaviour,
            default). When False, such a sentence raises a ``ValueError`` instead of being truncated.
        **kwargs: every other ``TransformerWordEmbeddings`` argument (``layers``, ``layer_mean``,
            ``subtoken_pooling`` ``first|last|first_last|mean``, ``fine_tune``, ``use_context_separator``,
            ``context_dropout``, ``respect_document_boundaries``, ``transformers_*_kwargs``, ...).

    Tokenization: the tokenizer is switched to ``add_prefix_space=True``, so each word's subtokens are the
    subtokens it gets in running text after a space (``tokenizer.tokenize(" " + word)``), for the first
    word of a sentence as for any other, with capitalisation kept (see :mod:`flair_modernbert.encoder.tokenization`).

    Raises:
        ValueError: when ``model`` is not a ModernBERT model (use ``TransformerWordEmbeddings`` for
            others), for an unknown ``attention_backend``, or ``is_document_embedding=True``.
    """

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        attention_backend: str = "auto",
        final_norm: bool = False,
        use_context: Union[bool, int, str] = False,
        allow_long_sentences: bool = True,
        is_document_embedding: bool = False,
        saved_config: Optional[PretrainedConfig] = None,
        transformers_model_kwargs: Optional[dict[str, Any]] = None,
        transformers_config_kwargs: Optional[dict[str, Any]] = None,
        **kwargs: Any,
    ) -> None:
        check_backend_name(attention_backend)
        if is_document_embedding:
            raise ValueError(
                "ModernBertEmbeddings are word embeddings for tagging; for document embeddings use "
                "flair.embeddings.TransformerDocumentEmbeddings."
            )
        model = resolve_model_name(model)
        config_kwargs = dict(transformers_config_kwargs or {})
        model_type = getattr(saved_config, "model_type", "") if saved_config is not None else model_type_of(model)
        if model_type != "modernbert":
            raise ValueError(
                f"ModernBertEmbeddings needs a ModernBERT model, but {model!r} is a {model_type or 'unknown'!r} "
                f"model. Use flair.embeddings.TransformerWordEmbeddings({model!r}) for it, or a ModernBERT "
                f"model such as {DEFAULT_MODEL!r}."
            )
        model_kwargs = dict(transformers_model_kwargs or {})
        # only the rotary module depends on it; attention itself always runs through our varlen backends
        model_kwargs.setdefault("attn_implementation", "sdpa")
        document_context = use_context == "document"
        if isinstance(use_context, str) and not document_context:
            raise ValueError(f"use_context={use_context!r}: use True, False, a number of words, or 'document'")

        super().__init__(
            model=model,
            is_document_embedding=False,
            allow_long_sentences=allow_long_sentences,
            use_context=bool(document_context) or use_context,
            saved_config=saved_config,
            transformers_model_kwargs=model_kwargs,
            transformers_config_kwargs=config_kwargs,
            **kwargs,
        )
        self.attention_backend = attention_backend
        self.final_norm = final_norm
        self._backends: dict[str, str] = {}
        base_modernbert(self.model)  # fail early on a model we cannot unpad
        ensure_prefix_space(self.tokenizer)
        self._fix_max_length(allow_long_sentences)
        if document_context:
            self.context_length = self.tokenizer.model_max_length
        self.document_context = document_context

    def _fix_max_length(self, allow_long_sentences: bool) -> None:
        """Bound the window by the model's positions, and undo Flair's 'no limit known' fallback."""
        max_positions = int(self.model.config.max_position_embeddings)
        tokenizer_max = self.tokenizer.model_max_length
        if tokenizer_max is None or tokenizer_max > LARGE_INTEGER or tokenizer_max > max_positions:
            logger.info("model_max_length set to the model's %d positions (tokenizer said %s)", max_positions, tokenizer_max)
            self.tokenizer.model_max_length = max_positions
        self.truncate = True
        self.allow_long_sentences = allow_long_sentences
        self.stride = self.tokenizer.model_max_length // 2 if allow_long_sentences else 0

    # ----------------------------------------------------------------------------------------- saving
    def to_params(self) -> dict[str, Any]:
        params = super().to_params()
        params["attention_backend"] = self.attention_backend
        params["final_norm"] = self.final_norm
        if self.document_context:
            params["context_length"] = "document"
        return params

    @classmethod
    def create_from_state(cls, **state: Any) -> "ModernBertEmbeddings":
        state.pop("is_token_embedding", None)
        state.pop("is_document_embedding", None)
        return cls(**state)

    # ------------------------------------------------------------------------------------- tokenization
    def _expand_sentence_with_context(self, sentence: Sentence) -> tuple[list[Token], int]:
        tokens, offset = super()._expand_sentence_with_context(sentence)
        if len(tokens) == len(sentence):
            return tokens, offset
        return self._fit_context(tokens, offset, len(sentence))

    def _fit_context(self, tokens: list[Token], offset: int, length: int) -> tuple[list[Token], int]:
        """Trim context from its far ends until sentence and context fit in one window."""
        budget = self.tokenizer.model_max_length - self.tokenizer.num_special_tokens_to_add()
        # a byte-level BPE word has at most one subtoken per byte, plus its prefix space
        if sum(len(t.text.encode("utf-8")) + 1 for t in tokens) <= budget:
            return tokens, offset
        encoding = self.tokenizer([t.text for t in tokens], is_split_into_words=True, add_special_tokens=False)
        counts = [0] * len(tokens)
        for word_id in encoding.word_ids():
            if word_id is not None:
                counts[word_id] += 1
        total = sum(counts)
        sentence_cost = sum(counts[offset : offset + length])
        separator = 1 if self.use_context_separator else 0
        left, right = offset - separator, len(tokens) - offset - length - separator
        start, end = 0, len(tokens)
        while total > budget and (left > 0 or right > 0) and total > sentence_cost:
            # drop the farthest word of the longer side
            if left >= right and left > 0:
                total -= counts[start]
                start += 1
                left -= 1
            else:
                end -= 1
                total -= counts[end]
                right -= 1
        if start or end < len(tokens):
            logger.debug("context trimmed to %d+%d words to fit %d subtokens", left, right, budget)
        return tokens[start:end], offset - start

    def prepare_tensors(self, sentences: list[Sentence], device: Optional[torch.device] = None) -> dict:
        tensors = super().prepare_tensors(sentences, device)
        if not self.allow_long_sentences:
            self._refuse_truncation(sentences, tensors)
        return tensors

    def _refuse_truncation(self, sentences: list[Sentence], tensors: dict) -> None:
        word_ids, lengths = tensors["word_ids"], tensors["token_lengths"]
        covered = word_ids.max(dim=1).values + 1
        for index in torch.nonzero(covered < lengths).flatten().tolist():
            sentence = sentences[index]
            words = [t.text for t in self._expand_sentence_with_context(sentence)[0]]
            subtokens = len(self.tokenizer(words, is_split_into_words=True)["input_ids"])
            raise ValueError(
                f"Sentence {index} of the batch ('{sentence.to_original_text()[:60]}...', {len(sentence)} words) "
                f"needs {subtokens} subtokens, more than the model's maximum of "
                f"{self.tokenizer.model_max_length}; its last {int(lengths[index] - covered[index])} words would "
                "be cut off. Use allow_long_sentences=True (the default) to stride over long sentences, or "
                "split the sentence."
            )

    def _add_embeddings_internal(self, sentences: list[Sentence]) -> None:
        # an empty sentence has no word to embed
        non_empty = [s for s in sentences if len(s) > 0]
        if non_empty and self.document_context:
            self._embed_documents(non_empty)
        elif non_empty:
            super()._add_embeddings_internal(non_empty)

    # ------------------------------------------------------------------------------------------ documents
    @contextlib.contextmanager
    def _without_context(self) -> Iterator[None]:
        saved = self.context_length
        self.context_length = 0
        try:
            yield
        finally:
            self.context_length = saved

    def _subtokens_per_sentence(self, document: list[Sentence]) -> list[int]:
        words = [token.text for sentence in document for token in sentence]
        counts = [0] * len(words)
        encoding = self.tokenizer(words, is_split_into_words=True, add_special_tokens=False)
        for word_id in encoding.word_ids():
            if word_id is not None:
                counts[word_id] += 1
        lengths, start = [], 0
        for sentence in document:
            lengths.append(sum(counts[start : start + len(sentence)]))
            start += len(sentence)
        return lengths

    def _embed_documents(self, sentences: list[Sentence]) -> None:
        """``use_context="document"``: encode each document of the batch once (see :mod:`.documents`)."""
        # as Flair does for the per-sentence path: sentences without context are one document, in batch order
        Sentence.set_context_for_sentences(sentences)
        documents: dict[tuple[int, ...], tuple[list[Sentence], list[Sentence]]] = {}
        alone: list[Sentence] = []
        for sentence in sentences:
            document = document_of(sentence, self.respect_document_boundaries)
            key = tuple(id(s) for s in document)
            documents.setdefault(key, (document, []))[1].append(sentence)
        budget = self.tokenizer.model_max_length - self.tokenizer.num_special_tokens_to_add()
        # (window sentence, [(sentence of the batch, index of its first token in the window)])
        windows: list[tuple[Sentence, list[tuple[Sentence, int]]]] = []
        for document, batch in documents.values():
            # context dropout in training drops a document's context as a whole
            if self.training and self.context_dropout > 0 and random.random() < self.context_dropout:
                alone += batch
                continue
            position = {id(s): i for i, s in enumerate(document)}
            by_index = {position[id(s)]: s for s in batch}
            plan, too_long = plan_windows(self._subtokens_per_sentence(document), sorted(by_index), budget)
            alone += [by_index[i] for i in too_long]
            for window in plan:
                part = document[window.start : window.end]
                starts = [0]
                for sentence in part[:-1]:
                    starts.append(starts[-1] + len(sentence))
                tokens = [Token(token.text) for sentence in part for token in sentence]
                served = [(by_index[i], starts[i - window.start]) for i in window.served]
                windows.append((Sentence(tokens), served))
        with self._without_context():
            super()._add_embeddings_internal([window for window, _ in windows] + alone)
        for window, served in windows:
            for sentence, first in served:
                for token, source in zip(sentence, window.tokens[first : first + len(sentence)]):
                    token.set_embedding(self.name, source.get_embedding([self.name]))

    # ------------------------------------------------------------------------------------------ forward
    def _backend(self, device: torch.device) -> str:
        key = str(device)
        if key not in self._backends:
            dropout = float(getattr(self.model.config, "attention_dropout", 0.0))
            self._backends[key] = resolve_backend(self.attention_backend, device, dropout)
        return self._backends[key]

    def forward(
        self,
        input_ids: torch.Tensor,
        sub_token_lengths: Optional[torch.LongTensor] = None,
        token_lengths: Optional[torch.LongTensor] = None,
        attention_mask: Optional[torch.Tensor] = None,
        overflow_to_sample_mapping: Optional[torch.Tensor] = None,
        word_ids: Optional[torch.Tensor] = None,
        **unused: Any,
    ) -> dict[str, torch.Tensor]:
        """Embed a tokenized batch (the tensors of :meth:`prepare_tensors`) without padding.

        Returns:
            ``{"token_embeddings": (sentences, max_words, embedding_length)}``, as Flair's forward.
        """
        if attention_mask is None:
            attention_mask = (input_ids != self.tokenizer.pad_token_id).long()
        assert word_ids is not None and token_lengths is not None
        packed = pack_padded(input_ids, attention_mask)
        num_states = len(base_modernbert(self.model).layers) + 1
        layers = [i if i >= 0 else num_states + i for i in self.layer_indexes]
        states = encode_packed(
            self.model, packed, layers, self._backend(input_ids.device), final_norm=self.final_norm
        )
        selected = [states[i] for i in layers]
        hidden = torch.stack(selected).mean(dim=0) if self.layer_mean else torch.cat(selected, dim=1)

        index_map = packed.index_map
        if self.allow_long_sentences and overflow_to_sample_mapping is not None:
            half, max_length = self.stride // 2, self.tokenizer.model_max_length
            index_map = combine_strided_tensors(index_map, overflow_to_sample_mapping, half, max_length, -1)
            word_ids = combine_strided_tensors(word_ids, overflow_to_sample_mapping, half, max_length, -100)
        embeddings = gather_word_embeddings(
            hidden, index_map.to(hidden.device), word_ids, token_lengths, self.subtoken_pooling
        )
        return {"token_embeddings": embeddings.to(flair.device)}
