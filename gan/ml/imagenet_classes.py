"""The 1000 ImageNet classes as a researcher writes them in a class map: by index, by exact name, by
an index range ("151-268") or by a group ("group:dog-breeds"), and a search over names and groups.

Both classifiers that cleaning compares speak these classes: the image classifier's 1000 outputs and
SoundNet's object head (trained to mimic an ImageNet network, same order). Names come from
torchvision's metadata (`imagenet_class_names`, the one list every caller uses); nothing is downloaded.

Groups: the standard class order follows the WordNet hierarchy for the animals (indices 0-397) and
the foods, plants and landscapes at the end (924-999), so a block of consecutive indices is one
branch of it (151 Chihuahua .. 268 Mexican hairless are every dog breed; 269 timber wolf starts the
wild canines). Only such branches are groups; the artefacts (398-915) are in alphabetical order,
where no group is obvious, and are named one by one.

Name lookup is exact first. Ignoring case is a fallback that must find one class: "Cardigan" (264, a
corgi) and "cardigan" (474, a sweater) are both real, so "CARDIGAN" is refused with both candidates.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

N_IMAGENET = 1000
GROUP_PREFIX = "group:"
_RANGE = re.compile(r"\s*(\d{1,3})\s*-\s*(\d{1,3})\s*\Z")


@lru_cache(maxsize=1)
def imagenet_class_names() -> tuple[str, ...]:
    """The 1000 ImageNet class names in index order, from torchvision's metadata (no download).

    The one list every classifier and SoundNet's object head speaks (torchvision gives every ImageNet
    weight the same category list)."""
    from torchvision.models import ResNet18_Weights

    return tuple(ResNet18_Weights.IMAGENET1K_V1.meta["categories"])


class ClassLookupError(ValueError):
    """An entry that names no ImageNet class, or more than one."""


@dataclass(frozen=True)
class ClassGroup:
    name: str
    description: str
    ranges: tuple[tuple[int, int], ...]  # inclusive (first, last) index ranges

    @property
    def indices(self) -> tuple[int, ...]:
        return tuple(i for first, last in self.ranges for i in range(first, last + 1))

    @property
    def span(self) -> str:
        return ", ".join(f"{a}-{b}" if a != b else str(a) for a, b in self.ranges)


# Each range is checked against its first and last names in tests/gan/ml/test_imagenet_classes.py.
GROUPS: dict[str, ClassGroup] = {g.name: g for g in (
    ClassGroup("dog-breeds", "every dog breed (Chihuahua .. Mexican hairless; no wolves or foxes)", ((151, 268),)),
    ClassGroup("wild-canines", "wolves, coyote, dingo, dhole, African hunting dog, foxes (not the hyena)",
               ((269, 275), (277, 280))),
    ClassGroup("canines", "dog breeds and wild canines", ((151, 275), (277, 280))),
    ClassGroup("domestic-cats", "tabby, tiger cat, Persian, Siamese, Egyptian cat", ((281, 285),)),
    ClassGroup("big-cats", "cougar, lynx, leopard, snow leopard, jaguar, lion, tiger, cheetah", ((286, 293),)),
    ClassGroup("cats", "domestic and big cats", ((281, 293),)),
    ClassGroup("bears", "brown, American black, ice and sloth bear", ((294, 297),)),
    ClassGroup("birds", "every bird", ((7, 24), (80, 100), (127, 146))),
    ClassGroup("fish", "every fish (sharks and rays included)", ((0, 6), (389, 397))),
    ClassGroup("amphibians", "salamanders, newts and frogs", ((25, 32),)),
    ClassGroup("turtles", "turtles and terrapins", ((33, 37),)),
    ClassGroup("lizards", "geckos, iguanas, chameleons, monitor lizards", ((38, 48),)),
    ClassGroup("snakes", "every snake", ((52, 68),)),
    ClassGroup("reptiles", "turtles, lizards, crocodilians, snakes (not the triceratops)", ((33, 50), (52, 68))),
    ClassGroup("spiders", "every spider", ((72, 77),)),
    ClassGroup("crustaceans", "crabs, lobsters, crayfish, isopod", ((118, 126),)),
    ClassGroup("marine-mammals", "grey whale, killer whale, dugong, sea lion", ((147, 150),)),
    ClassGroup("insects", "beetles, fly, bee, ant, grasshopper .. dragonfly, damselfly", ((300, 320),)),
    ClassGroup("butterflies", "admiral, ringlet, monarch, cabbage, sulphur butterfly, lycaenid", ((321, 326),)),
    ClassGroup("rodents", "hamster, porcupine, squirrel, marmot, beaver, guinea pig", ((333, 338),)),
    ClassGroup("hoofed-mammals", "horse, zebra, pigs, hippo, cattle, sheep, goats, antelopes, camel, llama",
               ((339, 355),)),
    ClassGroup("primates", "apes, monkeys, lemurs", ((365, 384),)),
    ClassGroup("elephants", "tusker, Indian and African elephant", ((101, 101), (385, 386))),
    ClassGroup("animals", "every animal (the first 398 classes)", ((0, 397),)),
    ClassGroup("vegetables", "cabbage, broccoli, cauliflower, squashes, cucumber, artichoke, pepper, cardoon",
               ((936, 946),)),
    ClassGroup("fruits", "Granny Smith, strawberry, orange, lemon, fig, pineapple, banana .. pomegranate",
               ((948, 957),)),
    ClassGroup("fungi", "mushroom, coral fungus, agaric .. bolete", ((947, 947), (991, 997))),
    ClassGroup("landscapes", "alp, cliff, coral reef, geyser, lakeside .. valley, volcano (geological formations)",
               ((970, 980),)),
)}


def group_named(name: str) -> ClassGroup:
    key = name.strip().lower()
    if key.startswith(GROUP_PREFIX):
        key = key[len(GROUP_PREFIX):].strip()
    if key not in GROUPS:
        stem = key.rstrip("s")
        close = [g for g in GROUPS if stem and stem in g] or difflib.get_close_matches(key, GROUPS, n=3, cutoff=0.6)
        hint = f" (did you mean {', '.join(GROUP_PREFIX + c for c in close[:3])}?)" if close else ""
        raise ClassLookupError(f"{name!r} is not a class group{hint}; groups: {', '.join(GROUPS)}")
    return GROUPS[key]


def index_of_name(name: str, names: Sequence[str]) -> int:
    """The index of an ImageNet class name: exact match first, then the one class that matches when
    case and surrounding spaces are ignored. Refuses a name that fits several, listing them."""
    exact = [i for i, candidate in enumerate(names) if candidate == name]
    if len(exact) == 1:
        return exact[0]
    folded = " ".join(name.split()).casefold()
    loose = exact or [i for i, candidate in enumerate(names) if candidate.casefold() == folded]
    if len(loose) == 1:
        return loose[0]
    if len(loose) > 1:
        listed = ", ".join(f"{i} {names[i]!r}" for i in loose)
        raise ClassLookupError(f"{name!r} is ambiguous: it matches {listed} when case is ignored; "
                               f"write one of them exactly, or its index")
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.75)
    hint = f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""
    raise ClassLookupError(f"{name!r} is not an ImageNet class name{hint}; "
                           f"list them with `manage.py classmap list imagenet --search WORD`")


def resolve_entry(entry, names: Sequence[str]) -> tuple[int, ...]:
    """The ImageNet indices one class-map entry stands for: an index (int or digits), a range
    "A-B", "group:NAME", or a class name."""
    if isinstance(entry, bool) or not isinstance(entry, (int, str)) and not hasattr(entry, "__index__"):
        raise ClassLookupError(f"entries must be ImageNet indices, names, ranges or groups, not {entry!r}")
    if not isinstance(entry, str):
        index = int(entry)
        if not 0 <= index < N_IMAGENET:
            raise ClassLookupError(f"ImageNet index {index} is outside 0..{N_IMAGENET - 1}")
        return (index,)
    text = entry.strip()
    if not text:
        raise ClassLookupError("an empty entry names no class")
    if text.isdigit():
        return resolve_entry(int(text), names)
    if text.lower().startswith(GROUP_PREFIX):
        return group_named(text).indices
    span = _RANGE.match(text)
    if span:
        first, last = int(span.group(1)), int(span.group(2))
        if not 0 <= first <= last < N_IMAGENET:
            raise ClassLookupError(f"range {text!r} must be FIRST-LAST with 0 <= FIRST <= LAST <= {N_IMAGENET - 1}")
        return tuple(range(first, last + 1))
    if not names:
        raise ClassLookupError(f"{text!r} is a name, but no ImageNet names were given")
    return (index_of_name(entry, names),)


def groups_of(index: int) -> list[str]:
    return [g.name for g in GROUPS.values() if any(a <= index <= b for a, b in g.ranges)]


def search(names: Sequence[str], text: str = "") -> tuple[list[tuple[int, str]], list[ClassGroup]]:
    """(index, name) of the classes whose name contains `text` (ignoring case), and the groups whose
    name or description does; everything when `text` is empty."""
    needle = text.strip().casefold()
    classes = [(i, n) for i, n in enumerate(names) if needle in n.casefold()]
    groups = [g for g in GROUPS.values() if needle in g.name or needle in g.description.casefold()]
    return classes, groups
