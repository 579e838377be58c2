"""Which of the teacher's layers a student with fewer layers keeps.

The student's layer ``i`` starts as a copy of the teacher's layer ``t[i]``; ``t`` increases (the student keeps the
teacher's order) and is spread as evenly as the rules allow over the teacher's depth: ``t[i]`` as close as possible
to ``i * (L - 1) / (K - 1)`` (sum of distances minimal, found by dynamic programming), so the first and the last
layers are kept when allowed.

ModernBERT adds two rules. A layer's attention is global when its index is a multiple of
``global_attn_every_n_layers`` and local (a sliding window, another rotary base) otherwise; the role comes from the
index, so a student position that is global must get a global teacher layer, a local one a local layer. And layer
0 has no attention norm (its input is the embeddings' norm), so student layer 0 is teacher layer 0 and teacher
layer 0 goes nowhere else. Other encoders (BERT-like) have no roles: evenly spaced layers.
"""

from __future__ import annotations

from typing import Optional, Union

__all__ = ["global_layers", "parse_layers", "select_layers"]


def parse_layers(value: str) -> Union[int, list[int]]:
    """``--layers`` as written: a count ``K`` (``"2"``) or the teacher layers to keep, counted from 0 (``"0,1"``).

    Raises:
        ValueError: neither (named); a count below 1. Whether the layers fit the teacher is checked against it.
    """
    parts = [part.strip() for part in value.split(",")]
    try:
        numbers = [int(part) for part in parts]
    except ValueError:
        raise ValueError(f"expected a number of layers or teacher layers like 0,1, got {value!r}") from None
    if len(numbers) == 1:
        if numbers[0] < 1:
            raise ValueError(f"expected a number >= 1, got {numbers[0]}")
        return numbers[0]
    return numbers


def global_layers(num_layers: int, every: Optional[int]) -> list[bool]:
    """For each layer, whether its attention is global (``every`` = ``global_attn_every_n_layers``; ``None``:
    an encoder without local layers, all global)."""
    if not every:
        return [True] * num_layers
    return [index % every == 0 for index in range(num_layers)]


def select_layers(teacher_layers: int, student_layers: int, every: Optional[int] = None,
                  first_is_special: bool = False) -> list[int]:
    """The teacher layer each student layer starts from (see the module docstring).

    Args:
        teacher_layers: the teacher's number of layers, ``L``.
        student_layers: the student's, ``K``; ``1 <= K < L``.
        every: ModernBERT's ``global_attn_every_n_layers`` (roles must match); ``None`` for encoders without roles.
        first_is_special: layer 0 differs from the others (ModernBERT: no attention norm) and stays at position 0.

    Raises:
        ValueError: ``K`` out of range, or no increasing choice keeps the roles (named).
    """
    if not isinstance(student_layers, int) or student_layers < 1:
        raise ValueError(f"--layers must be at least 1, got {student_layers}")
    if student_layers >= teacher_layers:
        raise ValueError(f"--layers {student_layers}: a student has fewer layers than its teacher "
                         f"({teacher_layers}); choose 1 to {teacher_layers - 1}")
    teacher_roles = global_layers(teacher_layers, every)
    student_roles = global_layers(student_layers, every)
    span = max(student_layers - 1, 1)
    ideal = [i * (teacher_layers - 1) / span for i in range(student_layers)]

    def allowed(i: int, t: int) -> bool:
        if teacher_roles[t] != student_roles[i]:
            return False
        if first_is_special and (i == 0) != (t == 0):
            return False
        return True

    inf = float("inf")
    # best[i][t]: least cost of student layers 0..i with student layer i = teacher layer t
    best = [[inf] * teacher_layers for _ in range(student_layers)]
    back = [[-1] * teacher_layers for _ in range(student_layers)]
    for t in range(teacher_layers):
        if allowed(0, t):
            best[0][t] = abs(t - ideal[0])
    for i in range(1, student_layers):
        running, arg = inf, -1  # min of best[i-1][u] over u < t
        for t in range(teacher_layers):
            if t > 0 and best[i - 1][t - 1] < running:
                running, arg = best[i - 1][t - 1], t - 1
            if arg >= 0 and allowed(i, t):
                best[i][t] = running + abs(t - ideal[i])
                back[i][t] = arg
    last = min(range(teacher_layers), key=lambda t: (best[-1][t], t))
    if best[-1][last] == inf:
        raise ValueError(f"--layers {student_layers}: no increasing choice of {student_layers} of the teacher's "
                         f"{teacher_layers} layers keeps ModernBERT's global/local pattern (global every {every})")
    chosen = [last]
    for i in range(student_layers - 1, 0, -1):
        chosen.append(back[i][chosen[-1]])
    return chosen[::-1]
