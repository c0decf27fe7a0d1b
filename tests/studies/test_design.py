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
