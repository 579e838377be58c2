"""Loading saved taggers and checkpoints without running code from the file.

A ``.pt`` file is a pickle, and unpickling a hostile one runs whatever it names (Flair's own loader calls
``torch.load(weights_only=False)``). torch's ``weights_only=True`` loader cannot read Flair's files (they are
written with pickle protocol 4, whose framing it does not support), so files are read with a restricted
unpickler instead: it resolves exactly the globals a tagger or checkpoint of this library holds
(:data:`ALLOWED_GLOBALS`) and refuses everything else before it is created. ``trust=True`` (``--trust-model``)
opts out for other Flair models; it runs any code the file contains, so use it only for files you made or
trust.
"""

from __future__ import annotations

import pickle
import types
import zipfile
from pathlib import Path
from typing import Any, Union

__all__ = ["ALLOWED_GLOBALS", "UnsafeModelError", "load_tagger", "load_checkpoint", "read_model_file"]

#: The globals a saved flair-modernbert tagger or checkpoint refers to, and nothing else.
ALLOWED_GLOBALS = frozenset({
    ("collections", "OrderedDict"),
    ("_io", "BytesIO"),  # the tokenizer and config of the embeddings, stored as bytes
    ("flair.data", "Dictionary"),
    ("torch._utils", "_rebuild_tensor_v2"),
    ("torch._utils", "_rebuild_parameter"),
    ("torch", "Size"),
    ("torch.torch_version", "TorchVersion"),  # a str: the torch version in the model card Flair's trainer writes
})

#: ``__cls__`` values of the taggers this library saves.
_TAGGERS = ("SequenceTagger", "DiceSequenceTagger")


class UnsafeModelError(ValueError):
    """A model file refers to something a flair-modernbert tagger never holds; it was not loaded."""


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in ALLOWED_GLOBALS:
            raise UnsafeModelError(f"refers to {module}.{name}")
        return super().find_class(module, name)


# torch.load takes a pickle module; this one unpickles with the allow-list
_restricted_pickle = types.ModuleType("flair_modernbert_restricted_pickle")
_restricted_pickle.Unpickler = _RestrictedUnpickler  # type: ignore[attr-defined]
_restricted_pickle.load = pickle.load  # type: ignore[attr-defined]
_restricted_pickle.__name__ = "flair_modernbert_restricted_pickle"


def read_model_file(path: Union[str, Path], what: str = "model", trust: bool = False) -> dict[str, Any]:
    """The state dict in a ``.pt`` file, read with the allow-list (or, with ``trust``, with plain pickle).

    Raises:
        FileNotFoundError: no such file.
        UnsafeModelError: the file refers to a global outside :data:`ALLOWED_GLOBALS` (nothing was run).
        ValueError: not a PyTorch file, or a truncated one (the message names the file).
    """
    import torch

    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"no {what} at {file}")
    if not zipfile.is_zipfile(file):
        raise ValueError(f"{file}: not a {what} file (a PyTorch .pt archive is expected; is it truncated?)")
    try:
        if trust:
            state = torch.load(file, map_location="cpu", weights_only=False)
        else:
            state = torch.load(file, map_location="cpu", weights_only=False, pickle_module=_restricted_pickle)
    except UnsafeModelError as error:
        raise UnsafeModelError(
            f"{file}: {error}, which a flair-modernbert {what} never holds; it was not loaded, and nothing in it "
            "ran. Load only files you trust with --trust-model (trust=True): that runs any code the file contains."
        ) from None
    except (RuntimeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile, KeyError) as error:
        raise ValueError(f"{file}: not a readable {what} file ({type(error).__name__}: {error})") from None
    if not isinstance(state, dict):
        raise ValueError(f"{file}: not a {what} file (it holds a {type(state).__name__}, not a state dict)")
    return state


def load_tagger(path: Union[str, Path], trust: bool = False) -> Any:
    """Load a trained tagger from ``final-model.pt`` or a training output folder, without running code from it.

    Args:
        path: the model file, or the folder a training run wrote.
        trust: load any Flair model with Flair's own loader (runs code the file may contain).

    Raises:
        FileNotFoundError: nothing to load there (the message says what was looked for).
        UnsafeModelError: the file is not a tagger this library saved (see :func:`read_model_file`).
        ValueError: not a model file, or a truncated one.
    """
    import flair_modernbert  # noqa: F401 - puts ModernBertEmbeddings into Flair's registry
    from flair.models import SequenceTagger

    from flair_modernbert.tagging.dice import DiceSequenceTagger

    model = Path(path)
    if model.is_dir():
        model = model / "final-model.pt"
    if not model.is_file():
        raise FileNotFoundError(f"no model at {model}: pass a final-model.pt or the output folder of a training run")
    state = read_model_file(model, "model", trust=trust)
    kind = state.get("__cls__", "SequenceTagger")
    if kind not in _TAGGERS and not trust:
        raise UnsafeModelError(f"{model}: a Flair {kind}, not a sequence tagger of this library; not loaded")
    if "embeddings" not in state or "tag_dictionary" not in state:
        raise ValueError(f"{model}: not a sequence tagger (no embeddings or tag dictionary in the file)")
    cls = DiceSequenceTagger if kind == "DiceSequenceTagger" else SequenceTagger
    # Flair builds the modules first and then loads the file's state dict strictly, so every weight is
    # overwritten: skipping transformers' random initialisation saves most of the load time (4.6 of 5.1 s at
    # base size on 2 cores)
    from transformers.modeling_utils import no_init_weights

    with no_init_weights():
        return cls.load(state)


def load_checkpoint(path: Union[str, Path], trust: bool = False) -> dict[str, Any]:
    """Read a ``checkpoint.pt`` written by a training run (model, optimizer, scheduler, epoch, RNG states)."""
    state = read_model_file(path, "checkpoint", trust=trust)
    missing = [key for key in ("model", "optimizer", "epoch", "rng") if key not in state]
    if missing:
        raise ValueError(f"{path}: not a checkpoint of this library (missing {', '.join(missing)})")
    return state
