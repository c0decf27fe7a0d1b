"""Balanced designs: which main trials a rater gets, and on which side the right picture goes.

Pure Python (no Django), so the property tests can run it over thousands of study shapes.

A rater who sees only some of a study's main trials should still see every condition (model
variant) equally often, every sound class equally often (overall and within each condition), each
sound at most once, and in a correlation study the picture from the heard sound as often on the
left as on the right. That is what a Latin-square design gives: rater r sees item i under condition
(i + r) mod k. Here the same balance is reached greedily, which also works for unequal counts,
items that are already full and raters who top up a partial plan: each pick takes the condition the
rater has seen least, then the class they have seen least (overall, then in that condition), then
an item they have not seen, least loaded across raters first (so items fill evenly), with random
tie-breaks. "As evenly as the counts allow": a condition or class falls behind only once it has no
candidate left.
"""
from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Slot:
    """A main trial a rater could be given."""

    trial: int
    condition: Hashable
    sound_class: Hashable
    item: Hashable            # the sound: a rater hears each at most once where the counts allow
    load: int = 0             # raters holding or having answered it (fills evenly: least first)
    left_load: int = 0        # of those, how many saw the heard sound's picture on the left


def pick_balanced(candidates: Iterable[Slot], n: int, rng: random.Random, held: Sequence[Slot] = ()) -> list[Slot]:
    """Up to n of `candidates`, balanced together with what the rater already `held`."""
    if n <= 0:
        return []
    tie = {}
    pools: dict[tuple, list[Slot]] = defaultdict(list)
    for slot in candidates:
        tie[slot.trial] = rng.random()
        pools[(slot.condition, slot.sound_class)].append(slot)
    conditions = Counter(s.condition for s in held)
    classes = Counter(s.sound_class for s in held)
    cells = Counter((s.condition, s.sound_class) for s in held)
    items = {s.item for s in held}
    condition_tie = {c: rng.random() for c, _ in pools}
    class_tie = {k: rng.random() for _, k in pools}
    picked: list[Slot] = []
    while len(picked) < n:
        open_cells = [cell for cell, pool in pools.items() if pool]
        if not open_cells:
            break
        lowest_load = {cell: min(s.load for s in pools[cell]) for cell in open_cells}
        condition = min({c for c, _ in open_cells}, key=lambda c: (
            conditions[c], min(lowest_load[cell] for cell in open_cells if cell[0] == c), condition_tie[c]))
        cell = min((cell for cell in open_cells if cell[0] == condition), key=lambda cell: (
            classes[cell[1]], cells[cell], lowest_load[cell], class_tie[cell[1]]))
        pool = pools[cell]
        slot = min(pool, key=lambda s: (s.item in items, s.load, tie[s.trial]))
        pool.remove(slot)
        picked.append(slot)
        conditions[slot.condition] += 1
        classes[slot.sound_class] += 1
        cells[cell] += 1
        items.add(slot.item)
    return picked


def choose_sides(slots: Sequence[Slot], rng: random.Random) -> dict[int, str]:
    """Where the picture from the heard sound goes, per trial: half left, half right for this rater
    (the odd one at random); "left" goes to the trials whose presentations so far leaned right most."""
    order = sorted(slots, key=lambda s: (2 * s.left_load - s.load, rng.random()))
    n_left = len(order) // 2 + (len(order) % 2 and rng.random() < 0.5)
    return {s.trial: ("left" if k < n_left else "right") for k, s in enumerate(order)}


def spread(counts: Counter, keys: Iterable) -> int:
    """max - min of counts over `keys` (0 for none): how uneven a rater's mix is."""
    values = [counts.get(k, 0) for k in keys]
    return max(values) - min(values) if values else 0
