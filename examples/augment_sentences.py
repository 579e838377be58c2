"""Show what each augmentation does to one labelled sentence (offline, a second or two).

    python examples/augment_sentences.py

Every augmenter is seeded: the same seed gives the same output, and labels stay on their tokens.
"""

from flair.data import Sentence

from flair_modernbert.augmentation import CharNoise, Compose, EntitySwap, LowercaseNames, MentionBank


def labelled(text: str, spans: list[tuple[int, int, str]]) -> Sentence:
    sentence = Sentence(text.split())
    for start, end, tag in spans:
        sentence[start:end].add_label("ner", tag)
    return sentence


def show(title: str, sentence: Sentence) -> None:
    spans = ", ".join(f"{span.text!r}/{span.get_label('ner').value}" for span in sentence.get_spans("ner"))
    print(f"{title:<12} {sentence.to_plain_string():<45} {spans}")


if __name__ == "__main__":
    train = [
        labelled("Anna Maria Schmidt works for Siemens .", [(0, 3, "PER"), (5, 6, "ORG")]),
        labelled("Bob flew to New York .", [(0, 1, "PER"), (3, 5, "LOC")]),
    ]
    sentence = labelled("John Smith moved to Berlin in May .", [(0, 2, "PER"), (4, 5, "LOC")])
    bank = MentionBank.from_sentences(train)  # swap candidates come from the training split only

    show("original", sentence)
    show("lowercase", LowercaseNames(types=["PER"]).augment(sentence, rng=1))
    show("swap", EntitySwap(bank).augment(sentence, rng=1))
    show("noise", CharNoise(action="keyboard", target="entities", token_p=0.5).augment(sentence, rng=1))
    everything = Compose([EntitySwap(bank), LowercaseNames(), CharNoise(target="context", token_p=0.3)])
    show("all", everything.augment(sentence, rng=1))
