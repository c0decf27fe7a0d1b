"""Balanced designs: which main trials a rater gets, and on which side the right picture goes.

Pure Python (no Django), so the property tests can run it over thousands of study shapes.

A rater who sees only some of a study's main trials should still see every condition (model
variant) equally often, every sound class equally often (overall and within each condition), each
sound at most once, and in a correlation study the picture from the heard sound as often on the
left as on the right. That is what a Latin-square design gives: rater r sees item i under condition
(i + r) mod k. Here the same balance is reached for any counts, for items that are already full and for raters
who top up a partial plan, by a small integer program (scipy.optimize.milp; one 0/1 variable per
candidate trial): conditions and classes each within one of the others, no class more than one
ahead of another within a condition, each sound at most once (as few times as the counts allow),
least-loaded trials first so items fill evenly, random among equals. Constraints the candidates
make impossible are given up one by one ("as evenly as the counts allow"); a condition falls
behind only when it has no candidate left, a class also when keeping it level would unbalance the
conditions (the candidates left to a late rater can force that choice). A quick greedy pick is tried first and kept when
a check finds it just as even (most joins: no integer program at all). tests/studies/test_design.py checks this with
hypothesis over study shapes.
"""
from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np


MILP_SECONDS = 0.3  # a join never waits longer on one attempt (the best table found so far is used)


@dataclass(frozen=True)
class Slot:
    """A main trial a rater could be given."""

    trial: int
    condition: Hashable
    sound_class: Hashable
    item: Hashable            # the sound: a rater hears each at most once where the counts allow
    load: int = 0             # raters holding or having answered it (fills evenly: least first)
    left_load: int = 0        # of those, how many saw the heard sound's picture on the left


def _even_bounds(keys, total: int, held: Counter, available: Counter) -> tuple[dict, dict]:
    """For each key, the fewest and most of `total` it may take so that held + share stays within
    one of every other key's (or takes all it has): the water level and the level below it."""
    share = dict.fromkeys(keys, 0)
    for _ in range(total):
        room = [k for k in keys if share[k] < available[k]]
        if not room:
            break
        share[min(room, key=lambda k: held[k] + share[k])] += 1
    level = max((held[k] + share[k] for k in keys if share[k]), default=0)
    upper = {k: min(available[k], max(0, level - held[k])) for k in keys}
    lower = {k: min(upper[k], max(0, level - 1 - held[k])) for k in keys}
    return lower, upper


def _onehot(codes: np.ndarray, width: int):
    from scipy import sparse

    return sparse.csr_matrix((np.ones(len(codes)), (codes, np.arange(len(codes)))), shape=(width, len(codes)))


def _choose(slots: list[Slot], total: int, held: Sequence[Slot], rng: random.Random) -> list[Slot]:
    """Which `total` of `slots` to take: a small integer program (scipy.optimize.milp, HiGHS) with one
    0/1 variable per candidate trial.

    Constraints, in the order they are given up when the candidates make them impossible:
    no class more than one ahead of another within a condition; each sound at most once (or as
    few times as the counts allow); classes within one of each other; conditions within one of
    each other (counting what the rater holds). Cost: the trials' loads (fill items evenly), random among equals.
    """
    # scipy is imported here, not at start-up: the greedy pick usually suffices and web workers
    # should not pay a second of imports for the rare integer program.
    from scipy import sparse
    from scipy.optimize import Bounds, LinearConstraint, milp

    cells = sorted({(s.condition, s.sound_class) for s in slots}, key=str)
    conditions = sorted({c for c, _ in cells}, key=str)
    classes = sorted({k for _, k in cells}, key=str)
    items = sorted({s.item for s in slots}, key=str)
    index = {"cell": {x: k for k, x in enumerate(cells)}, "condition": {x: k for k, x in enumerate(conditions)},
             "class": {x: k for k, x in enumerate(classes)}, "item": {x: k for k, x in enumerate(items)}}
    cell_of = np.array([index["cell"][(s.condition, s.sound_class)] for s in slots])
    condition_of = np.array([index["condition"][s.condition] for s in slots])
    class_of = np.array([index["class"][s.sound_class] for s in slots])
    item_of = np.array([index["item"][s.item] for s in slots])
    size = np.bincount(cell_of, minlength=len(cells))
    held_cell = Counter((s.condition, s.sound_class) for s in held)
    by_condition = _even_bounds(conditions, total, Counter(s.condition for s in held),
                                Counter(s.condition for s in slots))
    by_class = _even_bounds(classes, total, Counter(s.sound_class for s in held), Counter(s.sound_class for s in slots))
    held_items = Counter(s.item for s in held)
    per_item = -(-(len(held) + total) // len({*items, *held_items}))  # ceil: a Latin square has 1

    blocks = {"total": (sparse.csr_matrix(np.ones((1, len(slots)))), [total], [total])}
    blocks["conditions"] = (_onehot(condition_of, len(conditions)), [by_condition[0][c] for c in conditions],
                            [by_condition[1][c] for c in conditions])
    blocks["classes"] = (_onehot(class_of, len(classes)), [by_class[0][k] for k in classes],
                         [by_class[1][k] for k in classes])
    # Within a condition, every class ends at the condition's level L_c or L_c - 1 (a class that runs
    # out of candidates may end lower): one integer variable per condition, 2 rows per cell.
    levels = len(conditions)
    cell_rows = _onehot(cell_of, len(cells))
    level_of_cell = np.array([index["condition"][c] for c, _ in cells])
    reach = {c: -(-(sum(held_cell[cell] for cell in cells if cell[0] == c) + by_condition[1][c])
                  // sum(1 for cell in cells if cell[0] == c)) for c in conditions}
    ample = np.array([held_cell[cell] + size[k] >= reach[cell[0]] - 1 for k, cell in enumerate(cells)])
    minus_level = sparse.csr_matrix((-np.ones(len(cells)), (np.arange(len(cells)), level_of_cell)),
                                    shape=(len(cells), levels))
    held_now = np.array([held_cell[cell] for cell in cells], dtype=float)
    at_most = sparse.hstack([cell_rows, minus_level])            # h + x - L <= 0
    at_least = sparse.hstack([cell_rows, minus_level])[ample]    # h + x - L >= -1, where the cell can keep up
    blocks["pairwise"] = (sparse.vstack([at_most, at_least]),
                          np.concatenate([np.full(len(cells), -np.inf), -1 - held_now[ample]]),
                          np.concatenate([-held_now, np.full(int(ample.sum()), np.inf)]))
    blocks["distinct"] = (_onehot(item_of, len(items)), [0] * len(items),
                          [max(0, per_item - held_items[item]) for item in items])
    cost = np.concatenate([np.array([s.load for s in slots], dtype=float)
                           + 0.5 * np.array([rng.random() for _ in slots]), np.zeros(levels)])
    upper = np.concatenate([np.ones(len(slots)), np.full(levels, len(slots) + len(held))])
    # Conditions even matters most (the tables compare them), classes even next, then a sound heard
    # twice. The candidates left can make the first two exclusive (e.g. the only conditions short of
    # trials have one class left): then the classes give way, never the conditions.
    for wanted in (("pairwise", "conditions", "classes", "distinct"), ("conditions", "classes", "distinct"),
                   ("conditions", "classes"), ("conditions", "distinct"), ("conditions",), ()):
        parts = [blocks["total"]] + [blocks[name] for name in wanted]
        matrix = sparse.vstack([m if m.shape[1] == len(slots) + levels else sparse.hstack(
            [m, sparse.csr_matrix((m.shape[0], levels))]) for m, _, _ in parts]).tocsr()
        low = np.concatenate([np.asarray(lo, dtype=float) for _, lo, _ in parts])
        up = np.concatenate([np.asarray(hi, dtype=float) for _, _, hi in parts])
        result = milp(c=cost, integrality=np.ones(len(slots) + levels), bounds=Bounds(0, upper),
                      constraints=LinearConstraint(matrix, low, up), options={"time_limit": MILP_SECONDS})
        if result.x is not None and result.status in (0, 1):  # optimal, or the best found in the time
            return [s for s, x in zip(slots, result.x[:len(slots)]) if x > 0.5]
    raise AssertionError("unreachable: the last attempt asks only for `total` of the candidates")


def _shortlist(slots: list[Slot], total: int, rng: random.Random) -> list[Slot]:
    """The least-loaded few of each (condition, class, sound) group, a few more than any rater could
    take from one, so the integer program stays small on big studies (random among equal loads)."""
    groups: dict[tuple, list[Slot]] = defaultdict(list)
    for slot in slots:
        groups[(slot.condition, slot.sound_class)].append(slot)
    cells = len(groups)
    keep = max(4, 2 * (-(-total // cells)) + 2)
    kept = []
    for group in groups.values():
        rng.shuffle(group)
        group.sort(key=lambda s: s.load)
        kept += group[:keep]
    return kept


def _greedy(slots: list[Slot], total: int, held: Sequence[Slot], rng: random.Random) -> list[Slot]:
    """The quick try: one pick at a time, the condition the rater has least, then the class they have
    least (overall, then in that condition), then an unheard sound, least loaded. Usually as even as
    the integer program's table; `_balanced` checks, and the program runs only when it is not."""
    pools: dict[tuple, list[Slot]] = defaultdict(list)
    tie = {s.trial: rng.random() for s in slots}
    for slot in slots:
        pools[(slot.condition, slot.sound_class)].append(slot)
    conditions = Counter(s.condition for s in held)
    classes = Counter(s.sound_class for s in held)
    cells = Counter((s.condition, s.sound_class) for s in held)
    items = {s.item for s in held}
    condition_tie = {c: rng.random() for c, _ in pools}
    class_tie = {k: rng.random() for _, k in pools}
    for pool in pools.values():  # least loaded first: a cell's lowest load is its first slot's
        pool.sort(key=lambda s: (s.load, tie[s.trial]))
    picked: list[Slot] = []
    while len(picked) < total:
        open_cells = [cell for cell, pool in pools.items() if pool]
        lowest = {cell: pools[cell][0].load for cell in open_cells}
        condition = min({c for c, _ in open_cells}, key=lambda c: (
            conditions[c], min(lowest[cell] for cell in open_cells if cell[0] == c), condition_tie[c]))
        cell = min((cell for cell in open_cells if cell[0] == condition),
                   key=lambda cell: (classes[cell[1]], cells[cell], lowest[cell], class_tie[cell[1]]))
        # an unheard sound, least loaded (the pool's order), else the least loaded
        slot = next((s for s in pools[cell] if s.item not in items), pools[cell][0])
        pools[cell].remove(slot)
        picked.append(slot)
        conditions[slot.condition] += 1
        classes[slot.sound_class] += 1
        cells[cell] += 1
        items.add(slot.item)
    return picked


def _balanced(picked: list[Slot], slots: list[Slot], held: Sequence[Slot]) -> bool:
    """Is `picked` (with `held`) as even as the candidates allow, by the rules of `_choose`?"""
    taken = {s.trial for s in picked}  # a trial is one slot: its id stands for it
    left = [s for s in slots if s.trial not in taken]

    def even(chosen, remaining, key):
        counts = Counter(key(s) for s in chosen)
        spare = Counter(key(s) for s in remaining)
        values = {key(s) for s in chosen} | {key(s) for s in remaining}
        top = max((counts[v] for v in values), default=0)
        return all(counts[v] >= top - 1 or not spare[v] for v in values)

    chosen = [*held, *picked]
    if not (even(chosen, left, lambda s: s.condition) and even(chosen, left, lambda s: s.sound_class)):
        return False
    for condition in {s.condition for s in slots}:
        if not even([s for s in chosen if s.condition == condition], [s for s in left if s.condition == condition],
                    lambda s: s.sound_class):
            return False
    heard = Counter(s.item for s in chosen)
    most = -(-len(chosen) // len({*heard, *(s.item for s in slots)}))
    if max(heard.values(), default=0) > most:
        return False
    # items fill evenly: nothing taken that is more than one rater ahead of a trial left out
    return not left or max(s.load for s in picked) <= min(s.load for s in left) + 1


def pick_balanced(candidates: Iterable[Slot], n: int, rng: random.Random, held: Sequence[Slot] = ()) -> list[Slot]:
    """Up to n of `candidates`, balanced together with what the rater already `held`."""
    slots = list(candidates)
    total = min(n, len(slots))
    if total <= 0:
        return []
    if total == len(slots):
        return slots
    picked = _greedy(slots, total, held, rng)
    if not _balanced(picked, slots, held):
        picked = _choose(_shortlist(slots, total, rng), total, held, rng)
    rng.shuffle(picked)
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
