"""Property tests of studies.design over study shapes (hypothesis): every rater gets conditions,
classes and sides as evenly as the counts allow, each sound at most once where possible, and
items fill evenly across raters."""
import random
from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from studies.design import Slot, choose_sides, pick_balanced, spread


@st.composite
def studies(draw):
    conditions = draw(st.integers(1, 5))
    classes = draw(st.integers(1, 4))
    sounds_per_class = draw(st.integers(1, 5))
    cells = [(c, k, s) for k in range(classes) for s in range(sounds_per_class) for c in range(conditions)]
    slots = [Slot(trial=t, condition=f"c{c}", sound_class=f"k{k}", item=f"k{k}-s{s}") for t, (c, k, s) in enumerate(cells)]
    per_rater = draw(st.integers(1, len(slots)))
    return slots, per_rater, draw(st.integers(0, 2**32 - 1))


def check_even(picked, candidates, key):
    """Counts of `key` differ by at most one, unless the lagging value had no candidate left."""
    counts = Counter(key(s) for s in picked)
    left = Counter(key(s) for s in candidates if s not in picked)
    values = {key(s) for s in candidates}
    if not values:
        return
    top = max(counts.get(v, 0) for v in values)
    for value in values:
        assert counts.get(value, 0) >= top - 1 or left[value] == 0, (value, counts, left)


@settings(max_examples=300, deadline=None)
@given(studies())
def test_a_fresh_rater_sees_conditions_classes_and_sounds_evenly(study):
    slots, n, seed = study
    picked = pick_balanced(slots, n, random.Random(seed))
    assert len(picked) == n and len({s.trial for s in picked}) == n
    check_even(picked, slots, lambda s: s.condition)
    check_even(picked, slots, lambda s: s.sound_class)
    for condition in {s.condition for s in slots}:  # classes even within each condition too
        check_even([s for s in picked if s.condition == condition], [s for s in slots if s.condition == condition],
                   lambda s: s.sound_class)
    sounds = {s.item for s in slots}
    if n <= len(sounds):  # a Latin square: each sound heard once, under one condition
        assert len({s.item for s in picked}) == n


def classes_can_be_even(picked, candidates) -> bool:
    """Could `len(picked)` of `candidates`, with the picked condition counts, have even classes (each
    class within one of the top, or all of its candidates taken)? A small feasibility program,
    independent of the design's own: integer x per (condition, class) cell up to its candidates;
    T the top class count; a class may be below T - 1 only by taking all it has (e_k = 1)."""
    import numpy as np
    from scipy.optimize import Bounds, LinearConstraint, milp

    if not candidates:
        return True
    cells = sorted({(s.condition, s.sound_class) for s in candidates})
    conditions, classes = sorted({c for c, _ in cells}), sorted({k for _, k in cells})
    have = Counter((s.condition, s.sound_class) for s in candidates)
    have_class = Counter(s.sound_class for s in candidates)
    want = Counter(s.condition for s in picked)
    n_x, big = len(cells), len(candidates) + 1
    width = n_x + 1 + len(classes)                 # x cells, T, e per class
    rows, low, high = [], [], []
    for c in conditions:                           # the picked condition counts, exactly
        rows.append([1.0 if cell[0] == c else 0.0 for cell in cells] + [0.0] * (1 + len(classes)))
        low.append(want[c]), high.append(want[c])
    for j, k in enumerate(classes):
        z = [1.0 if cell[1] == k else 0.0 for cell in cells]
        e = [0.0] * len(classes)
        rows.append(z + [-1.0] + e), low.append(-np.inf), high.append(0)            # z_k <= T
        e_big = list(e); e_big[j] = big
        rows.append(z + [-1.0] + e_big), low.append(-1), high.append(np.inf)         # z_k >= T - 1 - big e_k
        e_all = list(e); e_all[j] = -have_class[k]
        rows.append(z + [0.0] + e_all), low.append(0), high.append(np.inf)           # z_k >= have_k e_k
    upper = [have[cell] for cell in cells] + [big] + [1] * len(classes)
    result = milp(c=np.zeros(width), integrality=np.ones(width), bounds=Bounds(0, upper),
                  constraints=LinearConstraint(np.array(rows), low, high))
    return result.status == 0


@settings(max_examples=150, deadline=None)
@given(studies(), st.integers(1, 12), st.integers(1, 4))
def test_raters_in_turn_fill_items_evenly_and_never_beyond_the_target(study, raters, target):
    slots, n, seed = study
    rng = random.Random(seed)
    loads = Counter()
    for _ in range(raters):
        candidates = [Slot(s.trial, s.condition, s.sound_class, s.item, loads[s.trial]) for s in slots
                      if loads[s.trial] < target]
        picked = pick_balanced(candidates, n, rng)
        assert len(picked) == min(n, len(candidates))
        check_even(picked, candidates, lambda s: s.condition)
        # Late raters find irregular candidates, where even conditions can rule out even classes:
        # then the classes give way (studies/design.py), and only then.
        if classes_can_be_even(picked, candidates):
            check_even(picked, candidates, lambda s: s.sound_class)
        for slot in picked:
            loads[slot.trial] += 1
        assert max(loads.values()) <= target
        # least-loaded first: items fill evenly (balance and distinct sounds come first, so a trial
        # may be two raters ahead of another, never more)
        assert spread(loads, [s.trial for s in slots]) <= 2 or min(loads[s.trial] for s in slots) == target


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 20), st.integers(0, 20)), min_size=0, max_size=40), st.integers(0, 2**32 - 1))
def test_sides_are_half_left_and_left_goes_where_it_was_missing(history, seed):
    slots = [Slot(trial=k, condition=None, sound_class=None, item=k, load=load + left, left_load=left)
             for k, (load, left) in enumerate(history)]
    sides = choose_sides(slots, random.Random(seed))
    counts = Counter(sides.values())
    assert abs(counts["left"] - counts["right"]) <= 1 and sum(counts.values()) == len(slots)
    lean = {s.trial: 2 * s.left_load - s.load for s in slots}  # > 0: shown left more often so far
    if counts["left"] and counts["right"]:
        assert max(lean[t] for t, side in sides.items() if side == "left") <= \
            min(lean[t] for t, side in sides.items() if side == "right")


def test_a_returning_rater_is_topped_up_in_balance_with_what_they_hold():
    slots = [Slot(trial=c * 4 + s, condition=c, sound_class=s % 2, item=s) for c in range(2) for s in range(4)]
    held = [slots[0], slots[1], slots[4]]  # condition 0 twice, condition 1 once
    extra = pick_balanced([s for s in slots if s not in held], 1, random.Random(0), held=held)
    assert extra[0].condition == 1 and extra[0].item not in {s.item for s in held}


def test_when_the_candidates_left_cannot_give_both_the_conditions_stay_even_and_the_classes_give_way():
    # Found by hypothesis: after two raters, the two conditions short of trials have only class k0 left.
    slots = [Slot(trial=t, condition=f"c{c}", sound_class=f"k{k}", item=f"k{k}-s{s}")
             for t, (k, s, c) in enumerate((k, s, c) for k in range(3) for s in range(2) for c in range(3))]
    left = [slots[t] for t in (0, 2, 3, 5, 7, 10, 13, 16)]
    for seed in range(20):
        picked = pick_balanced(left, 5, random.Random(seed))
        assert sorted(Counter(s.condition for s in picked).values()) == [1, 2, 2], seed
        assert not classes_can_be_even(picked, left)
        check_even(picked, left, lambda s: s.condition)
    # and where both are possible the oracle says so, and the design gives both
    picked = pick_balanced(slots, 6, random.Random(0))
    assert classes_can_be_even(picked, slots)
    check_even(picked, slots, lambda s: s.sound_class)
