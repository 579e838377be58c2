"""The distillation loss: the student's own loss mixed with a pull towards the frozen teacher's outputs.

``loss = (1 - alpha) * gold + alpha * distillation`` per batch, where ``gold`` is the student's own loss (Flair's
cross-entropy or CRF likelihood, plus Dice for a Dice tagger) and ``distillation`` is, summed over the batch's
tokens (Flair back-propagates token sums), ``T² · KL(teacher ‖ student)`` of each token's tag distribution at
temperature ``T`` (Hinton et al. 2015; ``T²`` keeps the gradient's scale independent of ``T``).

Two targets (``target``). ``"emissions"``: a softmax over each token's emission scores, which ignores a constant
added to all of a token's tags exactly as the CRF does, and serves softmax and CRF heads alike. ``"marginals"`` (CRF
heads): the CRF's per-token marginals at temperature ``T`` (:mod:`~flair_modernbert.distillation.marginals`),
which carry the transitions: a CRF's emissions are not a distribution of their own (the transitions decide much,
e.g. ``I-`` after ``B-``), so their softmax asks the student for something the CRF never uses. Measured on the MiniLM
PII tagger's 3-layer student over 3 seeds (docs/export.md, "Distilled or not"), neither target won clearly (the
marginals: a little more F1, less over-redaction, more leaks), and training without the teacher (``alpha`` 0) beat
both. ``T > 1`` passes on the teacher's ranking of
the wrong tags (which entity types it confuses), which a hard label cannot.

:class:`Distiller` puts this loss in place of the student's ``forward_loss`` while training, without making the
teacher a sub-module: the teacher's weights are neither trained, nor moved, nor saved with the student, whose
class stays the teacher's (an ordinary tagger file). The frozen teacher in eval mode gives a sentence the same
outputs every epoch, so they are computed once per sentence object and kept on the CPU while it lives (a
3-of-6-layer MiniLM student's later epochs ran 1.2× faster so); with ``alpha`` 0 the teacher is not run. One
exception: a teacher with ``use_context="document"`` windows long documents by the batch they arrive in, so its
cached outputs are those of the first epoch's batch (the student's own context still follows its batch).
"""

from __future__ import annotations

import contextlib
import logging
import weakref
from typing import Iterator

import flair
import torch
from flair.data import Sentence
from flair.models import SequenceTagger

from flair_modernbert.distillation.marginals import crf_log_marginals
from flair_modernbert.tagging.losses import emission_scores

logger = logging.getLogger(__name__)

__all__ = ["Distiller", "TARGETS", "check_settings", "distillation_loss", "emission_scores"]

#: What the student is pulled towards: the teacher's emission scores, or its CRF's per-token marginals.
TARGETS = ("emissions", "marginals")


def check_settings(alpha: float, temperature: float, target: str, crf: bool) -> None:
    """Refuse ``alpha`` outside [0, 1], ``temperature`` <= 0, an unknown ``target``, or marginals without a CRF.

    Raises:
        ValueError: naming the option as the command line spells it.
    """
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"--alpha must be from 0 to 1, got {alpha}")
    if not temperature > 0:
        raise ValueError(f"--temperature must be > 0, got {temperature}")
    if target not in TARGETS:
        raise ValueError(f"--target must be one of {', '.join(TARGETS)}, got {target!r}")
    if target == "marginals" and not crf:
        raise ValueError("--target marginals needs a CRF head; a softmax head's marginals are its emissions: "
                         "use --target emissions")


def distillation_loss(student: torch.Tensor, teacher: torch.Tensor, temperature: float,
                      log_probabilities: bool = False) -> torch.Tensor:
    """``T² · Σ_tokens KL(softmax(teacher / T) ‖ softmax(student / T))`` for ``(tokens, tags)`` scores; with
    ``log_probabilities`` both are already tempered log-probabilities (CRF log-marginals) and are used as they are."""
    if log_probabilities:
        log_student, log_teacher = student.float(), teacher.float()
    else:
        log_student = torch.log_softmax(student.float() / temperature, dim=-1)
        log_teacher = torch.log_softmax(teacher.float() / temperature, dim=-1)
    kl = torch.nn.functional.kl_div(log_student, log_teacher, reduction="sum", log_target=True)
    return kl * temperature**2


class Distiller:
    """Trains a student against a frozen teacher (see the module docstring).

    Args:
        student: the tagger being trained (see :func:`~flair_modernbert.distillation.student.make_student`).
        teacher: the trained tagger; set to eval mode and frozen here.
        alpha: weight of the distillation term, from 0 (gold loss only) to 1 (teacher only).
        temperature: ``T`` > 0 of the softmax over emissions (or of the CRF's scores, for marginals).
        target: ``"emissions"`` (any head) or ``"marginals"`` (the CRF's per-token marginals; a CRF head only).

    Attributes:
        batch: ``{"gold": ..., "distillation": ..., "tokens": ...}`` sums of the current batch (raw terms, before
            ``alpha``; ``distillation`` stays 0 with ``alpha`` 0); ``epoch``: the same over the current epoch. The
            log plugin reads and resets them.

    Raises:
        ValueError: ``alpha``, ``temperature`` or ``target`` out of range, taggers with different tags or heads, or
            marginals without a CRF.
    """

    def __init__(self, student: SequenceTagger, teacher: SequenceTagger, alpha: float = 0.5,
                 temperature: float = 2.0, target: str = "emissions") -> None:
        check_settings(alpha, temperature, target, teacher.use_crf)
        if student.label_dictionary.get_items() != teacher.label_dictionary.get_items():
            raise ValueError("student and teacher predict different tags: "
                             f"{student.label_dictionary.get_items()} vs {teacher.label_dictionary.get_items()}")
        if student.use_crf != teacher.use_crf:
            raise ValueError("student and teacher have different heads (one has a CRF, the other not)")
        self.target = target
        self.student, self.teacher = student, teacher
        self.alpha, self.temperature = float(alpha), float(temperature)
        teacher.eval()
        for parameter in teacher.parameters():
            parameter.requires_grad_(False)
        self.batch = self.zero_sums()
        self.epoch = self.zero_sums()
        # the teacher's targets per sentence object, dropped with the sentence (a corpus read lazily)
        self._cache: "weakref.WeakKeyDictionary[Sentence, torch.Tensor]" = weakref.WeakKeyDictionary()

    @staticmethod
    def zero_sums() -> dict[str, float]:
        """Empty sums of the two terms (for :attr:`batch` and :attr:`epoch`)."""
        return {"gold": 0.0, "distillation": 0.0, "tokens": 0}

    @contextlib.contextmanager
    def attached(self) -> Iterator["Distiller"]:
        """While the block runs, ``student.forward_loss`` is :meth:`forward_loss` (what Flair's trainer calls)."""
        self.teacher.to(flair.device)
        # an instance attribute, not a module: nothing of the teacher enters the student's state dict
        self.student.__dict__["forward_loss"] = self.forward_loss
        try:
            yield self
        finally:
            self.student.__dict__.pop("forward_loss", None)

    def _targets(self, tagger: SequenceTagger, scores: object, differentiable: bool = True) -> torch.Tensor:
        if self.target == "marginals":
            return crf_log_marginals(tagger, scores, self.temperature, differentiable=differentiable)
        return emission_scores(tagger, scores)

    def _teacher_targets(self, sentences: list[Sentence]) -> torch.Tensor:
        teacher, cache = self.teacher, self._cache
        missing = [s for s in sentences if s not in cache]
        if missing:  # a subset of a length-sorted batch is length-sorted too, as a BiLSTM teacher wants
            with torch.no_grad():
                tensor, lengths = teacher._prepare_tensors(missing)
                targets = self._targets(teacher, teacher.forward(tensor, lengths), differentiable=False)
            targets = targets.float().cpu()  # one copy off the device per batch, not one per sentence
            for sentence, rows in zip(missing, torch.split(targets, [len(s) for s in missing])):
                cache[sentence] = rows
                # both encoders store word vectors under the same name: the student must compute its own
                sentence.clear_embeddings()
        return torch.cat([cache[s] for s in sentences]).to(flair.device)

    def forward_loss(self, sentences: list[Sentence]) -> tuple[torch.Tensor, int]:
        """Flair's ``forward_loss``: the mixed loss summed over the batch's tokens, and the token count."""
        student = self.student
        if len(sentences) == 0:
            return torch.tensor(0.0, dtype=torch.float, device=flair.device, requires_grad=True), 0
        sentences = sorted(sentences, key=len, reverse=True)  # as Flair's forward_loss: both see one order
        for sentence in sentences:
            sentence.clear_embeddings()
        teacher = self._teacher_targets(sentences) if self.alpha > 0 else None
        gold_labels = student._prepare_label_tensor(sentences)
        tensor, lengths = student._prepare_tensors(sentences)
        scores = student.forward(tensor, lengths)
        gold, count = student._calculate_loss(scores, gold_labels)
        if count == 0:
            return gold, count
        if teacher is None:  # alpha 0: the gold loss alone, the teacher is not run
            distillation = torch.zeros((), device=gold.device)
        else:
            distillation = distillation_loss(self._targets(student, scores), teacher, self.temperature,
                                             log_probabilities=self.target == "marginals")
        for sums in (self.batch, self.epoch):
            sums["gold"] += float(gold.detach())
            sums["distillation"] += float(distillation.detach())
            sums["tokens"] += int(count)
        return (1.0 - self.alpha) * gold + self.alpha * distillation, count
