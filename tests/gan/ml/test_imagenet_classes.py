"""How a class map names ImageNet classes: exact names first, ambiguity refused with the candidates,
ranges and hierarchy groups whose edges are checked by name."""
import pytest

from gan.ml.cleaning import ClassMap, ClassMapError
from gan.ml.imagenet_classes import GROUPS, ClassLookupError, group_named, groups_of, index_of_name, resolve_entry, search
from gan.ml.soundnet import imagenet_class_names

NAMES = imagenet_class_names()


def test_exact_name_wins_over_a_case_insensitive_match():
    assert NAMES[264] == "Cardigan" and NAMES[474] == "cardigan"
    assert index_of_name("Cardigan", NAMES) == 264  # the corgi
    assert index_of_name("cardigan", NAMES) == 474  # the sweater


def test_a_name_that_only_matches_ignoring_case_is_refused_when_it_fits_two_classes():
    with pytest.raises(ClassLookupError) as caught:
        index_of_name("CARDIGAN", NAMES)
    message = str(caught.value)
    assert "ambiguous" in message and "264 'Cardigan'" in message and "474 'cardigan'" in message
    with pytest.raises(ClassMapError, match="class 'corgi': 'CARDIGAN' is ambiguous"):
        ClassMap({"corgi": ["CARDIGAN"]}, NAMES)


def test_case_and_spaces_are_forgiven_when_one_class_fits():
    assert index_of_name("Golden  Retriever ", NAMES) == NAMES.index("golden retriever") == 207


def test_unknown_names_suggest_close_ones_and_the_search_command():
    with pytest.raises(ClassLookupError) as caught:
        index_of_name("golden retriver", NAMES)
    assert "did you mean 'golden retriever'" in str(caught.value)
    assert "classmap list imagenet --search" in str(caught.value)


@pytest.mark.parametrize("group, first, last, count", [
    ("dog-breeds", "Chihuahua", "Mexican hairless", 118),
    ("domestic-cats", "tabby", "Egyptian cat", 5),
    ("big-cats", "cougar", "cheetah", 8),
    ("bears", "brown bear", "sloth bear", 4),
    ("snakes", "thunder snake", "sidewinder", 17),
    ("spiders", "black and gold garden spider", "wolf spider", 6),
    ("primates", "orangutan", "indri", 20),
    ("fish", "tench", "puffer", 16),
    ("birds", "cock", "albatross", 59),
    ("vegetables", "head cabbage", "cardoon", 11),
    ("fruits", "Granny Smith", "pomegranate", 10),
    ("fungi", "mushroom", "bolete", 8),
    ("landscapes", "alp", "volcano", 11),
])
def test_groups_follow_the_hierarchy_blocks_of_the_class_order(group, first, last, count):
    indices = GROUPS[group].indices
    assert NAMES[indices[0]] == first and NAMES[indices[-1]] == last and len(indices) == count


def test_group_edges_exclude_the_neighbouring_branches():
    dogs = set(group_named("group:dog-breeds").indices)
    assert NAMES.index("timber wolf") not in dogs and NAMES.index("Chihuahua") - 1 not in dogs
    wild = {NAMES[i] for i in GROUPS["wild-canines"].indices}
    assert {"timber wolf", "coyote", "red fox", "grey fox"} <= wild and "hyena" not in wild
    assert "triceratops" not in {NAMES[i] for i in GROUPS["reptiles"].indices}
    assert set(GROUPS["canines"].indices) == dogs | set(GROUPS["wild-canines"].indices)
    assert "dog-breeds" in groups_of(207) and "canines" in groups_of(207) and groups_of(999) == []


def test_entries_take_indices_ranges_groups_and_names():
    assert resolve_entry(889, NAMES) == (889,) and resolve_entry(" 889 ", NAMES) == (889,)
    assert resolve_entry("151-153", NAMES) == (151, 152, 153)
    assert len(resolve_entry("GROUP:Dog-Breeds", NAMES)) == 118
    assert resolve_entry("violin", NAMES) == (889,)
    for bad, message in [("5-2", "FIRST-LAST"), ("group:dogs", "did you mean group:"), (1000, "outside"),
                         (2.5, "not 2.5"), (True, "not True"), ("", "empty")]:
        with pytest.raises(ClassLookupError, match=message):
            resolve_entry(bad, NAMES)


def test_a_class_map_with_a_group_needs_no_list_of_118_breeds():
    cm = ClassMap({"dog": ["group:dog-breeds"], "corgi-sweater": ["cardigan"], "violin": "violin"}, NAMES)
    assert len(cm.members["dog"]) == 118 and cm.label_of(264) == "dog" and cm.label_of(474) == "corgi-sweater"
    assert cm.members["violin"] == (889,)
    with pytest.raises(ClassMapError, match="264 'Cardigan' is in both 'dog' and 'corgi'"):
        ClassMap({"dog": ["group:dog-breeds"], "corgi": ["Cardigan"]}, NAMES)


def test_search_finds_classes_and_groups():
    classes, groups = search(NAMES, "DOG")
    found = {name for _, name in classes}
    assert {"hotdog", "African hunting dog", "dogsled"} <= found and "Chihuahua" not in found
    assert "dog-breeds" in {g.name for g in groups}
    everything, _ = search(NAMES, "")
    assert len(everything) == 1000
