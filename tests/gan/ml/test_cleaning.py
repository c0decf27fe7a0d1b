"""The class map and the keep/discard decision, on hand-made probability vectors."""
import json

import numpy as np
import pytest

from gan.ml.cleaning import PAPER_CLASS_MAP, UNMAPPED, ClassMap, ClassMapError, decide
from gan.ml.soundnet import imagenet_class_names

NAMES = imagenet_class_names()


def peaked(*indices_and_weights) -> np.ndarray:
    p = np.full(1000, 1e-6)
    for index, weight in indices_and_weights:
        p[index] = weight
    return p / p.sum()


@pytest.fixture(scope="module")
def paper():
    return ClassMap(PAPER_CLASS_MAP, NAMES)


def test_the_papers_nine_classes_are_imagenet_classes(paper):
    assert paper.names == ["dog", "drum", "guitar", "piano", "plane", "speedboat", "dam", "soccer", "baseball"]
    named = {label: {NAMES[i] for i in members} for label, members in paper.members.items()}
    assert {"golden retriever", "Chihuahua", "Mexican hairless"} <= named["dog"] and len(named["dog"]) == 118
    assert "timber wolf" not in named["dog"]
    assert named["piano"] == {"grand piano", "upright"} and named["plane"] == {"airliner", "warplane"}
    assert named["soccer"] == {"soccer ball"} and named["guitar"] == {"acoustic guitar"}
    assert named["speedboat"] == {"speedboat"} and named["dam"] == {"dam"} and named["baseball"] == {"baseball"}


def test_maps_take_names_or_indices_and_refuse_mistakes():
    cm = ClassMap({"strings": ["violin", 486, "889"]}, NAMES)
    assert cm.members["strings"] == (486, 889) and cm.label_of(889) == "strings" and cm.label_of(0) is None
    with pytest.raises(ClassMapError, match="not an ImageNet class name"):
        ClassMap({"x": ["violine"]}, NAMES)
    with pytest.raises(ClassMapError, match="outside 0..999"):
        ClassMap({"x": [1000]}, NAMES)
    with pytest.raises(ClassMapError, match="in both 'a' and 'b'"):
        ClassMap({"a": ["violin"], "b": [889]}, NAMES)
    with pytest.raises(ClassMapError, match="no ImageNet classes"):
        ClassMap({"a": []}, NAMES)
    with pytest.raises(ClassMapError, match="at least one class"):
        ClassMap({}, NAMES)


def test_top1_agreement_keeps_with_the_agreed_label_and_both_predictions(paper):
    sound = peaked((207, 0.5), (579, 0.2))  # golden retriever
    frame = peaked((208, 0.7))  # Labrador retriever
    decision = decide(sound, frame, paper, NAMES, top_k=1)
    assert decision.kept and decision.label == "dog"
    assert "both classifiers say 'dog'" in decision.reason and "golden retriever" in decision.reason
    report = json.loads(json.dumps(decision.report()))
    assert report["sound"]["top"][0][:2] == [207, "golden retriever"]
    assert report["image"]["classes"] == {"dog": pytest.approx(frame[208], abs=1e-5)}  # top-1 only


def test_disagreement_is_discarded_with_the_reason(paper):
    decision = decide(peaked((541, 0.6)), peaked((207, 0.8)), paper, NAMES, top_k=1)
    assert not decision.kept and decision.label == "drum"  # Table 1 counts it under the sound's class
    assert decision.reason.startswith("the classes differ (top-1)")
    assert "'drum'" in decision.reason and "'golden retriever'" in decision.reason


def test_a_sound_outside_the_classes_is_discarded_as_unmapped(paper):
    decision = decide(peaked((819, 0.5)), peaked((207, 0.8)), paper, NAMES)  # stage
    assert not decision.kept and decision.label == UNMAPPED
    assert "the sound is in none of the classes" in decision.reason
    decision = decide(peaked((207, 0.5)), peaked((819, 0.8)), paper, NAMES)
    assert "the image is in none of the classes" in decision.reason


def test_top_k_finds_agreement_below_the_first_place(paper):
    sound = peaked((819, 0.5), (541, 0.2))  # stage, then drum
    frame = peaked((541, 0.9))
    assert not decide(sound, frame, paper, NAMES, top_k=1).kept
    decision = decide(sound, frame, paper, NAMES, top_k=2)
    assert decision.kept and decision.label == "drum" and "(top-2)" in decision.reason


def test_with_several_shared_classes_the_strongest_wins(paper):
    sound = peaked((541, 0.3), (207, 0.2))
    frame = peaked((207, 0.6), (541, 0.1))
    assert decide(sound, frame, paper, NAMES, top_k=2).label == "dog"  # 0.2+0.6 > 0.3+0.1


def test_bad_probability_vectors_are_refused(paper):
    with pytest.raises(ValueError, match="1000 ImageNet probabilities"):
        decide(np.ones(10) / 10, peaked((1, 1.0)), paper, NAMES)
    with pytest.raises(ValueError, match="top_k"):
        decide(peaked((1, 1.0)), peaked((1, 1.0)), paper, NAMES, top_k=0)
