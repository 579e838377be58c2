"""Heads, Dice loss and class weights: what each loss does with each head."""

import pytest
import torch
from flair.data import Dictionary, Sentence
from flair.embeddings import TransformerWordEmbeddings
from flair.models import SequenceTagger
from flair.models.sequence_tagger_utils.viterbi import ViterbiLoss

from flair_modernbert import ModernBertEmbeddings
from flair_modernbert.tagging.losses import dice_loss
from flair_modernbert.config import EmbeddingsConfig, TaggerConfig
from flair_modernbert.tagging import DiceSequenceTagger, build_embeddings, build_tagger, expand_class_weights


def _span_dictionary(*types):
    dictionary = Dictionary(add_unk=False)
    for name in types:
        dictionary.add_item(name)
    dictionary.span_labels = True  # as Corpus.make_label_dictionary marks span label types
    return dictionary


def _sentences():
    first = Sentence(["John", "Smith", "moved", "to", "Berlin", "."])
    first[0:2].add_label("ner", "PER")
    first[4:5].add_label("ner", "LOC")
    second = Sentence(["paris", "is", "nice"])
    second[0:1].add_label("ner", "LOC")
    return [first, second]


@pytest.fixture(scope="module")
def embeddings(tiny_model_dir):
    return ModernBertEmbeddings(str(tiny_model_dir), fine_tune=True)


# ------------------------------------------------------------------------------------------------ dice_loss
def test_dice_loss_hand_checked():
    # uniform logits over 2 tags -> p = 0.5 everywhere; gold = [0, 0]
    # tag 0: (2*1.0 + 1) / (1.0 + 2 + 1) = 0.75 -> 0.25 ; tag 1: (0 + 1) / (1.0 + 0 + 1) = 0.5 -> 0.5
    logits = torch.zeros(2, 2)
    labels = torch.tensor([0, 0])
    assert dice_loss(logits, labels, smooth=1.0).item() == pytest.approx((0.25 + 0.5) / 2)
    # weights 1 and 3: (0.25 * 1 + 0.5 * 3) / 4
    weighted = dice_loss(logits, labels, smooth=1.0, weights=torch.tensor([1.0, 3.0]))
    assert weighted.item() == pytest.approx(1.75 / 4)


def test_dice_loss_is_zero_for_confident_correct_predictions_and_checks_shapes():
    labels = torch.tensor([0, 1, 2, 1])
    logits = torch.nn.functional.one_hot(labels, 3).float() * 50
    assert dice_loss(logits, labels).item() == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ValueError, match=r"expected logits \(tokens, tags\)"):
        dice_loss(torch.zeros(3, 2), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="smooth must be > 0"):
        dice_loss(logits, labels, smooth=0)


# ------------------------------------------------------------------------------------------------ heads
@pytest.mark.parametrize(
    ("head", "use_crf", "use_rnn"), [("crf", True, False), ("bilstm-crf", True, True), ("softmax", False, False)]
)
def test_heads_build_flair_sequence_taggers(embeddings, head, use_crf, use_rnn):
    tagger = build_tagger(embeddings, _span_dictionary("PER", "LOC"), "ner", TaggerConfig(head=head, hidden_size=8))
    assert type(tagger) is SequenceTagger
    assert (tagger.use_crf, tagger.use_rnn) == (use_crf, use_rnn)
    assert {"S-PER", "B-PER", "E-PER", "I-PER", "O"} <= set(tagger.label_dictionary.get_items())
    loss, count = tagger.forward_loss(_sentences())
    assert count == 9 and torch.isfinite(loss)


def test_dice_alone_with_a_crf_head_is_refused(embeddings):
    for head in ("crf", "bilstm-crf"):
        with pytest.raises(ValueError, match="the CRF transitions would get no gradient; use loss: ce\\+dice"):
            build_tagger(embeddings, _span_dictionary("PER"), "ner", TaggerConfig(head=head, loss="dice"))


def test_class_weights_with_plain_crf_loss_are_refused_by_the_config():
    with pytest.raises(ValueError, match="CRF likelihood cannot be weighted"):
        TaggerConfig(head="crf", loss="ce", class_weights={"PER": 2.0})


def test_class_weights_expand_types_to_their_tags_and_reach_flair(embeddings):
    config = TaggerConfig(head="softmax", class_weights={"PER": 2.0, "O": 0.5, "B-LOC": 3.0})
    tagger = build_tagger(embeddings, _span_dictionary("PER", "LOC"), "ner", config)
    weights = dict(zip(tagger.label_dictionary.get_items(), tagger.loss_weights.tolist()))
    assert weights["S-PER"] == weights["B-PER"] == weights["I-PER"] == weights["E-PER"] == 2.0
    assert weights["O"] == 0.5 and weights["B-LOC"] == 3.0 and weights["I-LOC"] == 1.0
    with pytest.raises(ValueError, match="'MISC' is neither a tag nor an entity type of this corpus; types: LOC, PER"):
        expand_class_weights({"MISC": 1.0}, tagger.label_dictionary)


def test_softmax_dice_loss_is_the_dice_of_the_linear_scores(embeddings):
    torch.manual_seed(0)
    config = TaggerConfig(head="softmax", loss="dice", dice_smooth=0.5, word_dropout=0, locked_dropout=0)
    tagger = build_tagger(embeddings, _span_dictionary("PER", "LOC"), "ner", config)
    tagger.eval()  # no dropout: the two passes see the same scores
    sentences = _sentences()
    loss, count = tagger.forward_loss(sentences)
    ordered = sorted(sentences, key=len, reverse=True)
    labels = tagger._prepare_label_tensor(ordered)
    scores = tagger.forward(*tagger._prepare_tensors(ordered))
    expected = dice_loss(scores, labels, smooth=0.5) * len(labels)
    assert count == 9
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)


def test_crf_ce_plus_dice_adds_dice_on_the_emissions_to_the_crf_likelihood(embeddings):
    torch.manual_seed(0)
    config = TaggerConfig(head="crf", loss="ce+dice", dice_weight=0.3, word_dropout=0, locked_dropout=0)
    tagger = build_tagger(embeddings, _span_dictionary("PER", "LOC"), "ner", config)
    assert isinstance(tagger, DiceSequenceTagger)
    tagger.eval()
    ordered = sorted(_sentences(), key=len, reverse=True)
    labels = tagger._prepare_label_tensor(ordered)
    tensors, lengths = tagger._prepare_tensors(ordered)
    emissions = tagger.linear(tensors)  # no dropout, no RNN: the CRF's input
    flat = torch.cat([emissions[0, :6], emissions[1, :3]])[:, :9]  # <START>/<STOP> left out
    scores = tagger.forward(tensors, lengths)
    assert torch.allclose(tagger.emission_logits(scores), flat, atol=1e-5)
    crf = ViterbiLoss(tagger.label_dictionary)(scores, labels)
    expected = crf + 0.3 * dice_loss(flat, labels) * len(labels)
    loss, _ = tagger._calculate_loss(scores, labels)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)
    loss.backward()
    assert tagger.crf.transitions.grad is not None and tagger.crf.transitions.grad.abs().sum() > 0
    assert tagger.linear.weight.grad.abs().sum() > 0


def test_dice_tagger_round_trips_its_loss_settings(embeddings, tmp_path):
    config = TaggerConfig(head="softmax", loss="ce+dice", dice_weight=0.7, dice_smooth=2.0,
                          class_weights={"PER": 2.0})
    tagger = build_tagger(embeddings, _span_dictionary("PER", "LOC"), "ner", config)
    tagger.save(tmp_path / "model.pt")
    loaded = DiceSequenceTagger.load(tmp_path / "model.pt")
    assert (loaded.loss, loaded.dice_weight, loaded.dice_smooth) == ("ce+dice", 0.7, 2.0)
    assert loaded.dice_class_weights == tagger.dice_class_weights
    plain = SequenceTagger.load(tmp_path / "model.pt")  # prediction does not need the loss settings
    first, second = Sentence("John moved to Berlin"), Sentence("John moved to Berlin")
    tagger.eval()
    tagger.predict(first, return_probabilities_for_all_classes=True)
    plain.predict(second, return_probabilities_for_all_classes=True)
    assert [t.get_label("ner").score for t in first] == pytest.approx([t.get_label("ner").score for t in second])


# ------------------------------------------------------------------------------------------------ encoders
def test_modernbert_models_get_unpadded_embeddings(tiny_model_dir):
    embeddings = build_embeddings(EmbeddingsConfig(model=str(tiny_model_dir), use_context=False))
    assert type(embeddings) is ModernBertEmbeddings
    assert type(build_embeddings(EmbeddingsConfig(model="random:tiny", use_context=False))) is ModernBertEmbeddings


def test_other_encoders_fall_back_to_stock_flair(tiny_bert_dir):
    embeddings = build_embeddings(EmbeddingsConfig(model=str(tiny_bert_dir), use_context=8, layers="-1"))
    assert type(embeddings) is TransformerWordEmbeddings
    assert embeddings.context_length == 8
    sentence = Sentence("john smith moved to berlin")
    embeddings.embed(sentence)
    assert sentence[0].embedding.shape == (32,)
    with pytest.raises(ValueError, match=r"embeddings.attention_backend='sdpa' only work with ModernBERT.*'bert' model"):
        build_embeddings(EmbeddingsConfig(model=str(tiny_bert_dir), attention_backend="sdpa"))
    with pytest.raises(ValueError, match="use_context='document'"):
        build_embeddings(EmbeddingsConfig(model=str(tiny_bert_dir), use_context="document"))
