"""Augmentation: label alignment, seeding, train-only mention banks, targeted lower-casing, nlpaug noise that
keeps token boundaries, corpus-level ratios, recipe and gazetteer errors, and the column-folder round trip."""

from __future__ import annotations

import json
import random
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from flair.data import Corpus, Sentence, get_spans_from_bio
from flair.datasets import ColumnCorpus, SentenceDataset
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flair_modernbert.augmentation import (
    REPORT_FILE,
    CharNoise,
    Compose,
    EntitySwap,
    GazetteerError,
    LabeledTokens,
    LowercaseNames,
    MentionBank,
    augment_corpus,
    augment_folder,
    build_augmenter,
    load_gazetteer,
    write_column_file,
)
from flair_modernbert.config import (
    AugmentationConfig,
    CharNoiseOp,
    ConfigError,
    LowercaseOp,
    SwapOp,
    augmentation_from,
    load_augmentation,
)
from flair_modernbert.tags import sentence_tags

PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FEW = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])

TYPES = ["PER", "person", "LOC", "ORG", "creative-work"]
# letters with tricky lower-casing (İ, ß), digits, punctuation and characters nlpaug maps (u, 0, 1, o)
TOKEN = st.text(alphabet=st.sampled_from(list("abuoxyzABUOXYZéÉİß0189.,-@#'&")), min_size=1, max_size=7)


# ------------------------------------------------------------------------------------------------ helpers
def spans_of(sentence: Sentence, label_type: str = "ner") -> list[tuple[int, int, str]]:
    item = LabeledTokens.from_sentence(sentence, label_type)
    return [(m.start, m.end, m.type) for m in item.mentions]


def texts(sentence: Sentence) -> list[str]:
    return [token.text for token in sentence.tokens]


def make_sentence(tokens, spans, label_type: str = "ner") -> Sentence:
    sentence = Sentence(list(tokens))
    for start, end, kind in spans:
        sentence[start:end].add_label(label_type, kind)
    return sentence


def decode(tags: list[str]) -> list[tuple[int, int, str]]:
    """Spans of BIO/BIOES tags as Flair's own reader decodes them."""
    return [(idx[0], idx[-1] + 1, kind) for idx, _, kind in get_spans_from_bio(list(tags))]


def valid_tags(tags: list[str], tag_format: str) -> bool:
    """Strictly well-formed BIO (B-X I-X*) or BIOES (S-X | B-X I-X* E-X) tags."""
    allowed = "BI" if tag_format == "BIO" else "BIES"
    open_type = None  # type of a span that is still open (BIOES: B or I seen, E not yet)
    previous = "O"
    for tag in tags + ["O"]:
        prefix, kind = (tag, None) if tag == "O" else (tag[0], tag[2:])
        if tag != "O" and (tag[1:2] != "-" or prefix not in allowed or not kind):
            return False
        if tag_format == "BIO":
            if prefix == "I" and (previous == "O" or previous[2:] != kind):
                return False
        else:
            if prefix in ("I", "E") and open_type != kind:
                return False
            if prefix in ("B", "S", "O") and open_type is not None:
                return False
            open_type = kind if prefix in ("B", "I") else None
        previous = tag
    return True


@st.composite
def tagged_sentences(draw, min_tokens: int = 1, max_tokens: int = 12):
    """A Sentence with random tokens and random BIO tags turned into spans the way Flair reads them."""
    tokens = draw(st.lists(TOKEN, min_size=min_tokens, max_size=max_tokens))
    tags = []
    for _ in tokens:
        prefix = draw(st.sampled_from(["O", "O", "B", "I"]))
        tags.append("O" if prefix == "O" else f"{prefix}-{draw(st.sampled_from(TYPES))}")
    return make_sentence(tokens, decode(tags))


BANK = MentionBank(
    {
        "PER": [("Ann",), ("Maria", "de", "la", "Cruz"), ("Bo", "Li")],
        "person": [("zed",), ("j", "r", "r", "tolkien")],
        "LOC": [("Oslo",), ("New", "York", "City")],
        "creative-work": [("Hamlet",)],
    },
    source="test bank",
)


@pytest.fixture(scope="module")
def noises() -> dict[str, CharNoise]:
    return {action: CharNoise(action, target="both", token_p=0.5) for action in ("keyboard", "ocr", "random")}


def all_augmenters(noises) -> dict[str, object]:
    lowercase = LowercaseNames()
    swap = EntitySwap(BANK, mention_p=0.7)
    return {
        "lowercase": lowercase,
        "lowercase-sentence": LowercaseNames(scope="sentence"),
        "swap": swap,
        **{f"noise-{name}": noise for name, noise in noises.items()},
        "compose": Compose([lowercase, swap, noises["keyboard"]]),
    }


# --------------------------------------------------------------------------------------- label alignment
@PROPERTY
@given(sentence=tagged_sentences(), seed=st.integers(0, 2**32))
def test_every_augmenter_keeps_labels_aligned_and_leaves_its_input_alone(noises, sentence, seed):
    before = (texts(sentence), spans_of(sentence), sentence.to_tagged_string())
    for name, augmenter in all_augmenters(noises).items():
        result = augmenter.augment(sentence, seed)
        assert result is not sentence
        assert (texts(sentence), spans_of(sentence), sentence.to_tagged_string()) == before, name
        spans = spans_of(result)
        # every span lies inside the tokens, spans do not overlap, and types (in order) are kept
        assert all(0 <= start < end <= len(result) for start, end, _ in spans), name
        assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:])), name
        assert [kind for *_, kind in spans] == [kind for *_, kind in before[1]], name
        assert all(token.text and not any(c.isspace() for c in token.text) for token in result), name
        for tag_format in ("BIO", "BIOES"):
            tags = sentence_tags(result, "ner", tag_format=tag_format)
            assert len(tags) == len(result)
            assert valid_tags(tags, tag_format), (name, tags)
            assert decode(tags) == spans, (name, tag_format)


@FEW
@given(sentences=st.lists(tagged_sentences(), min_size=1, max_size=6), seed=st.integers(0, 1000))
def test_written_column_files_read_back_by_flair_give_the_same_spans(noises, sentences, seed):
    augmenter = Compose([EntitySwap(BANK), noises["random"]])
    augmented = [augmenter.augment(s, seed + i) for i, s in enumerate(sentences)]
    with tempfile.TemporaryDirectory() as folder:
        for tag_format in ("BIO", "BIOES"):
            write_column_file(augmented, Path(folder) / "train.txt", tag_format=tag_format)
            lines = (Path(folder) / "train.txt").read_text(encoding="utf-8").split("\n")
            tags = [line.split("\t")[1] for line in lines if line]
            assert valid_tags(tags, tag_format) or not tags
            corpus = ColumnCorpus(
                folder, {0: "text", 1: "ner"}, train_file="train.txt", autofind_splits=False, sample_missing_splits=False
            )
            read = list(corpus.train)
            assert [texts(s) for s in read] == [texts(s) for s in augmented]
            assert [spans_of(s) for s in read] == [spans_of(s) for s in augmented]


# ------------------------------------------------------------------------------------------------- seeds
@PROPERTY
@given(sentence=tagged_sentences(), seed=st.integers(0, 2**32))
def test_the_same_seed_gives_the_same_output_whatever_the_global_random_state(noises, sentence, seed):
    for name, augmenter in all_augmenters(noises).items():
        random.seed(1)
        np.random.seed(1)
        first = augmenter.augment(sentence, random.Random(seed))
        random.seed(2)
        np.random.seed(2)
        second = augmenter.augment(sentence, seed)
        assert texts(first) == texts(second), name
        assert spans_of(first) == spans_of(second), name
        assert [t.whitespace_after for t in first] == [t.whitespace_after for t in second], name


def test_nlpaug_calls_leave_the_global_random_state_as_it_was(noises):
    sentence = make_sentence(["Quentin", "Tarantino", "wrote", "Pulp", "Fiction"], [(0, 2, "PER")])
    random.seed(7)
    np.random.seed(7)
    python_state, numpy_state = random.getstate(), np.random.get_state()
    for noise in noises.values():
        CharNoise(noise.action, token_p=1.0).augment(sentence, 3)
    assert random.getstate() == python_state
    assert all(np.array_equal(a, b) for a, b in zip(np.random.get_state(), numpy_state))


def test_an_integer_or_a_random_generator_is_required_not_the_global_state():
    sentence = make_sentence(["a"], [])
    with pytest.raises(TypeError, match="rng"):
        LowercaseNames().augment(sentence, None)


# ----------------------------------------------------------------------------------------------- lowercase
@PROPERTY
@given(sentence=tagged_sentences(), types=st.lists(st.sampled_from(TYPES), min_size=1, max_size=3))
def test_lowercasing_touches_only_the_targeted_spans(sentence, types):
    result = LowercaseNames(types=types).augment(sentence, 0)
    wanted = {t.casefold() for t in types}
    targeted = {i for start, end, kind in spans_of(sentence) if kind.casefold() in wanted for i in range(start, end)}
    assert spans_of(result) == spans_of(sentence)
    for index, (old, new) in enumerate(zip(texts(sentence), texts(result))):
        if index in targeted:
            assert new == old.lower()
        else:
            assert new.encode("utf-8") == old.encode("utf-8")


def test_lowercase_defaults_match_person_like_types_case_insensitively():
    sentence = make_sentence(
        ["John", "Smith", "MET", "Mary", "in", "Paris", "with", "ANN"],
        [(0, 2, "PER"), (3, 4, "person"), (5, 6, "LOC"), (7, 8, "PERSON")],
    )
    assert texts(LowercaseNames().augment(sentence, 0)) == ["john", "smith", "MET", "mary", "in", "Paris", "with", "ann"]
    whole = LowercaseNames(scope="sentence").augment(sentence, 0)
    assert texts(whole) == [t.lower() for t in texts(sentence)]
    assert spans_of(whole) == spans_of(sentence)
    never = LowercaseNames(p=0.0).augment(sentence, 0)
    assert texts(never) == texts(sentence)


# ---------------------------------------------------------------------------------------------------- swap
@PROPERTY
@given(sentence=tagged_sentences(), seed=st.integers(0, 2**32))
def test_swaps_keep_types_and_context_and_draw_from_the_bank(sentence, seed):
    original = LabeledTokens.from_sentence(sentence)
    result = LabeledTokens.from_sentence(EntitySwap(BANK).augment(sentence, seed))
    assert [m.type for m in result.mentions] == [m.type for m in original.mentions]

    def context(item):  # the tokens between mentions, gap by gap
        edges = [0] + [x for m in item.mentions for x in (m.start, m.end)] + [len(item.tokens)]
        return [item.tokens[a:b] for a, b in zip(edges[::2], edges[1::2])]

    assert context(result) == context(original)
    for old, new in zip(original.mentions, result.mentions):
        new_tokens = result.mention_tokens(new)
        folded = [t.casefold() for t in original.mention_tokens(old)]
        others = [c for c in BANK.candidates(old.type) if [t.casefold() for t in c] != folded]
        if others:  # another entity, not the same name in other casing
            assert new_tokens in others
        else:
            assert new_tokens == original.mention_tokens(old)


def test_swapping_mentions_of_other_lengths_shifts_later_spans():
    sentence = make_sentence(
        ["Yesterday", "John", "Smith", "visited", "Oslo", "."], [(1, 3, "PER"), (4, 5, "LOC")]
    )
    bank = MentionBank({"PER": [("Madonna",)], "LOC": [("Rio", "de", "Janeiro")]})
    result = EntitySwap(bank).augment(sentence, 0)
    assert texts(result) == ["Yesterday", "Madonna", "visited", "Rio", "de", "Janeiro", "."]
    assert [(s.text, s.get_label("ner").value) for s in result.get_spans("ner")] == [
        ("Madonna", "PER"),
        ("Rio de Janeiro", "LOC"),
    ]
    assert sentence_tags(result, "ner", tag_format="BIOES") == ["O", "S-PER", "O", "B-LOC", "I-LOC", "E-LOC", "O"]
    assert sentence_tags(result, "ner", tag_format="BIO") == ["O", "B-PER", "O", "B-LOC", "I-LOC", "I-LOC", "O"]


def test_a_swap_never_just_restores_the_casing_of_a_lowercased_name():
    sentence = make_sentence(["John", "Smith", "runs"], [(0, 2, "PER")])
    bank = MentionBank({"PER": [("John", "Smith")]})
    result = Compose([LowercaseNames(), EntitySwap(bank)]).augment(sentence, 0)
    assert texts(result) == ["john", "smith", "runs"]
    bank = MentionBank({"PER": [("John", "Smith"), ("Ann",)]})
    assert texts(Compose([EntitySwap(bank), LowercaseNames()]).augment(sentence, 0)) == ["ann", "runs"]


@FEW
@given(train=st.lists(tagged_sentences(), min_size=1, max_size=8), seed=st.integers(0, 1000))
def test_swaps_never_use_dev_or_test_mentions(train, seed):
    def held_out(prefix: str) -> list[Sentence]:
        return [
            make_sentence([f"{prefix}{kind}{i}a", f"{prefix}{kind}{i}b", "said"], [(0, 2, kind)])
            for i, kind in enumerate(TYPES)
        ]

    dev, test = held_out("DEVONLY"), held_out("TESTONLY")
    corpus = Corpus(SentenceDataset(train), SentenceDataset(dev), SentenceDataset(test), sample_missing_splits=False)
    recipe = {"ratio": 3.0, "ops": [{"type": "swap", "p": 1.0}]}
    augmented, report = augment_corpus(corpus, recipe, seed=seed, progress=False)

    train_bank = MentionBank.from_sentences(train)
    for sentence in augmented.train:
        assert not any("ONLY" in token for token in texts(sentence))
        item = LabeledTokens.from_sentence(sentence)
        for mention in item.mentions:
            assert item.mention_tokens(mention) in train_bank.candidates(mention.type)
    assert augmented.dev is corpus.dev and augmented.test is corpus.test
    assert report.ops["swap"].applied == report.added


# --------------------------------------------------------------------------------------------- char noise
@PROPERTY
@given(
    sentence=tagged_sentences(),
    target=st.sampled_from(["entities", "context", "both"]),
    seed=st.integers(0, 2**32),
)
def test_noise_keeps_token_count_and_boundaries_and_only_touches_its_target(noises, sentence, target, seed):
    entity_tokens = {i for start, end, _ in spans_of(sentence) for i in range(start, end)}
    for action in noises:
        result = CharNoise(action, target=target, token_p=0.8).augment(sentence, seed)
        assert len(result) == len(sentence)
        assert spans_of(result) == spans_of(sentence)
        for index, (old, new) in enumerate(zip(texts(sentence), texts(result))):
            assert new and not any(c.isspace() for c in new)
            in_target = target == "both" or (index in entity_tokens) == (target == "entities")
            if not in_target:
                assert new == old


def test_keyboard_noise_never_offers_whitespace_although_nlpaugs_map_has_one():
    noise = CharNoise("keyboard", token_p=1.0)
    candidates = [value for values in noise.augmenter.model.model.values() for value in values]
    assert candidates and not any(c.isspace() for value in candidates for c in value)
    # tokens nlpaug's own tokenizer would split ("@ username", "don ' t") must change whole, not be split
    sentence = make_sentence(["uuuuuuuu", "UUUUUUUU", "@username", "don't"], [(0, 1, "PER")])
    changed = Counter()
    for seed in range(60):
        result = noise.augment(sentence, seed)
        assert len(result) == 4 and all(t.text and not any(c.isspace() for c in t.text) for t in result)
        changed.update(i for i, (a, b) in enumerate(zip(texts(sentence), texts(result))) if a != b)
    assert set(changed) == {0, 1, 2, 3}


# --------------------------------------------------------------------------------------------- corpus level
@pytest.mark.parametrize("ratio, expected", [(0.0, 0), (0.5, 5), (1.0, 10), (1.5, 15), (2.0, 20)])
def test_ratio_is_the_number_of_sentences_added_per_training_sentence(ratio, expected):
    train = [make_sentence([f"Name{i}", "Surname", "lives", "here"], [(0, 2, "PER")]) for i in range(10)]
    dev = [make_sentence(["Dev", "Person"], [(0, 2, "PER")])]
    corpus = Corpus(SentenceDataset(train), SentenceDataset(dev), None, sample_missing_splits=False)
    # the lower-cased variant is one per sentence; noise makes further, different variants
    recipe = {"ratio": ratio, "ops": [{"type": "lowercase", "p": 1.0, "types": ["PER"]},
                                      {"type": "char_noise", "action": "random", "token_p": 0.5, "p": 1.0}]}

    augmented, report = augment_corpus(corpus, recipe, seed=4, progress=False)
    assert report.requested == report.added == expected
    assert len(augmented.train) == 10 + expected
    assert all(augmented.train[i] is train[i] for i in range(10))  # originals kept, first, untouched
    assert texts(train[0]) == ["Name0", "Surname", "lives", "here"]
    assert augmented.dev is corpus.dev and augmented.test is None
    counts = Counter(report.sources)
    assert all(count in (int(ratio), int(ratio) + 1) for count in counts.values())  # spread over the sentences
    assert sum(counts.values()) == expected
    for source, sentence in zip(report.sources, list(augmented.train)[10:]):
        assert texts(sentence) != texts(train[source])  # every variant differs from its source
        assert spans_of(sentence) == spans_of(train[source])
    variants = [tuple(texts(s)) for s in list(augmented.train)[10:]]
    assert len(set(variants)) == len(variants)  # ... and from the other variants
    assert f"{expected} augmented added of {expected} requested" in report.summary()


def test_sentences_no_operation_can_change_are_replaced_by_others():
    # half the sentences hold a person name: lower-casing names changes only those
    train = [make_sentence(["Ann", "sings"], [(0, 1, "PER")]) if i % 2 else make_sentence(["no", "entity"], [])
             for i in range(10)]
    corpus = Corpus(SentenceDataset(train), None, None, sample_missing_splits=False)
    augmented, report = augment_corpus(corpus, {"ratio": 0.5, "ops": [{"type": "lowercase"}]}, seed=0, progress=False)
    assert (report.requested, report.added) == (5, 5)
    assert set(report.sources) == {1, 3, 5, 7, 9}
    # ratio 1.0 asks for 10, but only 5 sentences can change and a second lower-cased copy would be a duplicate
    augmented, report = augment_corpus(corpus, [{"type": "lowercase"}], seed=0, progress=False)
    assert (report.requested, report.added, report.unchanged) == (10, 5, 15) and report.duplicates == 0
    assert texts(augmented.train[10]) == ["ann", "sings"]
    kept, report = augment_corpus(corpus, [{"type": "lowercase"}], seed=0, keep_unchanged=True, progress=False)
    assert (report.added, report.unchanged, len(kept.train)) == (10, 0, 20)


# ------------------------------------------------------------------------------------------------- recipes
def test_recipes_parse_in_both_forms_with_defaults():
    bare = augmentation_from([{"type": "lowercase", "p": 0.5}, {"type": "swap"}])
    assert bare == AugmentationConfig(ops=[LowercaseOp(type="lowercase", p=0.5), SwapOp(type="swap")], ratio=1.0)
    assert bare.ops[0].types == ["PER", "PERSON"] and bare.seed is None
    full = augmentation_from(
        {
            "ratio": 2,
            "seed": 13,
            "ops": [
                {"type": "lowercase", "p": 0.5, "types": ["person"], "scope": "entities"},
                {"type": "swap", "p": 0.5, "gazetteer": None},
                {"type": "char_noise", "p": 0.3, "action": "ocr", "target": "entities", "token_p": 0.1},
            ],
        },
        source="recipe.yaml",
    )
    assert full.ratio == 2.0 and full.seed == 13
    assert full.ops == [
        LowercaseOp(type="lowercase", p=0.5, types=["person"]),
        SwapOp(type="swap", p=0.5),
        CharNoiseOp(type="char_noise", p=0.3, action="ocr", target="entities", token_p=0.1),
    ]
    assert augmentation_from(full.to_dict(), source="recipe.yaml") == full
    steps = build_augmenter(full, train_sentences=[make_sentence(["Ann"], [(0, 1, "person")])]).steps
    assert [type(s) for s in steps] == [LowercaseNames, EntitySwap, CharNoise]
    assert augmentation_from([]).ops == [] and augmentation_from(None).ops == []


@pytest.mark.parametrize(
    "recipe, key",
    [
        ([{"type": "lowercse"}], "augmentation.ops[0].type"),
        ([{"p": 0.5}], "augmentation.ops[0].type"),
        (["lowercase"], "augmentation.ops[0]"),
        ({"ops": [{"type": "swap", "pp": 0.5}]}, "augmentation.ops[0].pp"),
        ({"ops": [{"type": "lowercase"}, {"type": "char_noise", "token_p": 1.5}]}, "augmentation.ops[1].token_p"),
        ([{"type": "char_noise", "action": "typo"}], "augmentation.ops[0].action"),
        ([{"type": "char_noise", "target": 3}], "augmentation.ops[0].target"),
        ([{"type": "lowercase", "p": True}], "augmentation.ops[0].p"),
        ([{"type": "lowercase", "types": "person"}], "augmentation.ops[0].types"),
        ([{"type": "lowercase", "scope": "document"}], "augmentation.ops[0].scope"),
        ([{"type": "swap", "gazetteer": 5}], "augmentation.ops[0].gazetteer"),
        ({"rate": 1.0}, "augmentation.rate"),
        ({"ratio": "twice"}, "augmentation.ratio"),
        ({"ratio": -1}, "augmentation.ratio"),
        ({"seed": 1.5}, "augmentation.seed"),
        ({"ops": {"type": "swap"}}, "augmentation.ops"),
        ("lowercase", "augmentation"),
    ],
)
def test_recipe_errors_name_the_key_and_the_source(recipe, key):
    with pytest.raises(ValueError) as error:
        augmentation_from(recipe, source="runs/my-recipe.yaml")
    assert isinstance(error.value, ConfigError)
    assert str(error.value).startswith(f"runs/my-recipe.yaml: {key}: "), str(error.value)
    assert error.value.key == key and error.value.source == "runs/my-recipe.yaml"


def test_recipe_files_name_the_file_and_resolve_gazetteers_next_to_it(tmp_path):
    (tmp_path / "names.tsv").write_text("PER\tAnn Lee\n", encoding="utf-8")
    good = tmp_path / "aug.yaml"
    good.write_text("ratio: 0.5\nops:\n  - {type: swap, gazetteer: names.tsv}\n", encoding="utf-8")
    config = load_augmentation(good)
    assert config.ops[0].gazetteer == str(tmp_path / "names.tsv") and config.ratio == 0.5
    swap = build_augmenter(config).steps[0]
    assert swap.bank.candidates("per") == (("Ann", "Lee"),)

    bad = tmp_path / "bad.yaml"
    bad.write_text("ops:\n  - {type: char_noise, tokn_p: 0.2}\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad\.yaml: augmentation\.ops\[0\]\.tokn_p: unknown key; did you mean 'token_p'\?"):
        load_augmentation(bad)
    broken = tmp_path / "broken.yaml"
    broken.write_text("ops:\n  - {type: swap\n  - x: [\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"(?s)broken\.yaml: not valid YAML.*broken\.yaml\", line \d+"):
        load_augmentation(broken)


def test_swap_without_gazetteer_needs_the_training_split():
    with pytest.raises(ValueError, match="train_sentences"):
        build_augmenter([{"type": "swap"}])


# ------------------------------------------------------------------------------------------------ gazetteer
@pytest.mark.parametrize(
    "content, line, message",
    [
        ("PER\tAnn Lee\n# comment\n\nLOC Oslo\n", 4, "expected 'TYPE<TAB>mention text'"),
        ("PER\tAnn\nPER\t   \n", 2, "empty mention"),
        ("\tAnn\n", 1, "empty entity type"),
        ("PER\tAnn\nB PER\tBo\n", 2, "contains whitespace"),
    ],
)
def test_gazetteer_errors_name_the_file_and_the_line(tmp_path, content, line, message):
    path = tmp_path / "names.tsv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(GazetteerError) as error:
        load_gazetteer(path)
    assert str(error.value).startswith(f"{path}:{line}: ") and message in str(error.value)
    assert (error.value.path, error.value.line) == (str(path), line)
    with pytest.raises(ValueError, match=f"names.tsv:{line}: "):
        build_augmenter([{"type": "swap", "gazetteer": str(path)}])


def test_a_missing_gazetteer_is_named(tmp_path):
    with pytest.raises(GazetteerError, match="nowhere.tsv: gazetteer file not found"):
        load_gazetteer(tmp_path / "nowhere.tsv")


@FEW
@given(sentence=tagged_sentences(), seed=st.integers(0, 1000))
def test_gazetteer_swaps_align_labels_for_multi_token_mentions(sentence, seed):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "gaz.tsv"
        path.write_text(
            "\ufeffper\tMaria  de la Cruz\nPER\tBo\nloc\tRio de Janeiro\n# note\nORG\tACME Corp Ltd\n", encoding="utf-8"
        )
        augmenter = build_augmenter([{"type": "swap", "gazetteer": str(path)}])
    bank = augmenter.steps[0].bank
    result = augmenter.augment(sentence, seed)
    for (start, end, kind), (_, _, old_kind) in zip(spans_of(result), spans_of(sentence)):
        assert kind == old_kind
        if kind.casefold() in ("per", "loc", "org"):
            assert tuple(texts(result)[start:end]) in bank.candidates(kind)
    assert valid_tags(sentence_tags(result, "ner", tag_format="BIOES"), "BIOES")


def test_labels_that_cannot_be_aligned_are_refused():
    token_level = make_sentence(["Ann", "sings"], [])
    token_level[0].add_label("ner", "B-PER")
    with pytest.raises(ValueError, match="expected span labels"):
        LowercaseNames().augment(token_level, 0)
    overlapping = make_sentence(["New", "York", "City"], [(0, 3, "LOC"), (1, 2, "LOC")])
    with pytest.raises(ValueError, match="overlap"):
        EntitySwap(BANK).augment(overlapping, 0)


def test_writing_a_token_with_whitespace_is_refused_with_its_position(tmp_path):
    sentence = make_sentence(["ok", "two words"], [])
    with pytest.raises(ValueError, match=r"sentence 2, token 2: 'two words'"):
        write_column_file([make_sentence(["fine"], []), sentence], tmp_path / "x.txt")


# ---------------------------------------------------------------------------------- folder (WNUT-17 sample)
def test_augment_folder_round_trip_on_the_wnut17_sample(wnut_sample_dir, tmp_path):
    recipe = tmp_path / "aug.yaml"
    recipe.write_text(
        "ratio: 1.0\nseed: 11\nops:\n"
        "  - {type: lowercase, p: 0.5, types: [person]}\n"
        "  - {type: swap, p: 0.5}\n"
        "  - {type: char_noise, p: 0.3, action: keyboard, target: both, token_p: 0.1}\n",
        encoding="utf-8",
    )
    columns = {0: "text", 1: "ner"}
    original = ColumnCorpus(wnut_sample_dir, columns, train_file="train.conll", dev_file="dev.conll",
                            test_file="test.conll", sample_missing_splits=False)
    originals = list(original.train)
    n = len(originals)
    expected, expected_report = augment_corpus(original, recipe, progress=False)  # the recipe's seed 11

    for tag_format in ("BIO", "BIOES"):
        out = tmp_path / tag_format
        report = augment_folder(wnut_sample_dir, out, recipe, tag_format=tag_format, progress=False)
        assert report.to_dict() | {"written": {}} == expected_report.to_dict()
        assert 0 < report.added <= report.requested == n
        for split in ("dev.conll", "test.conll"):
            assert (out / split).read_bytes() == (wnut_sample_dir / split).read_bytes()

        lines = [line for line in (out / "train.conll").read_text(encoding="utf-8").split("\n") if line]
        assert valid_tags([line.split("\t")[1] for line in lines], tag_format)
        read = list(ColumnCorpus(out, columns, train_file="train.conll", dev_file="dev.conll",
                                 test_file="test.conll", sample_missing_splits=False).train)
        assert len(read) == n + report.added
        assert [texts(s) for s in read[:n]] == [texts(s) for s in originals]
        assert [spans_of(s) for s in read[:n]] == [spans_of(s) for s in originals]
        added = read[n:]
        assert Counter(kind for s in added for *_, kind in spans_of(s)) == report.added_mentions
        assert [texts(s) for s in added] == [texts(s) for s in list(expected.train)[n:]]
        assert [spans_of(s) for s in added] == [spans_of(s) for s in list(expected.train)[n:]]
        saved = json.loads((out / REPORT_FILE).read_text(encoding="utf-8"))
        assert saved["added"] == report.added and len(saved["sources"]) == report.added
        assert saved["recipe"]["seed"] == 11

    changed = {name for name, counts in report.ops.items() if counts.sentences}
    assert changed == {"lowercase", "swap", "char_noise"}
    other_seed = augment_folder(wnut_sample_dir, tmp_path / "seed2", recipe, seed=2, progress=False)
    assert other_seed.seed == 2 and other_seed.sources != report.sources
    with pytest.raises(ValueError, match="must differ"):
        augment_folder(wnut_sample_dir, wnut_sample_dir, recipe, progress=False)
