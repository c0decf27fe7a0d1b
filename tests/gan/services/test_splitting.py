"""The train/test split (gan/services/splitting.py): a source's class is its most common label, a
pair without a source is a source of its own, discarded pairs join only when asked, and the split
is recorded on the dataset; bad parameters are refused before any job."""
import pytest

from gan.models import Dataset, Pair, PairStatus, Split
from gan.services.splitting import SplitError, SplitParams, assign_groups, launch_split, split_dataset

pytestmark = pytest.mark.django_db


def _pair(dataset, n, label, group="", status=PairStatus.KEPT):
    return Pair.objects.create(dataset=dataset, sound=f"s{n}.wav", image=f"i{n}.png", label=label, group=group,
                               status=status)


def test_a_source_goes_by_its_most_common_label_and_a_pair_without_one_is_its_own_source():
    dataset = Dataset.objects.create(name="split", source="manifest", root="d")
    for n in range(3):  # one video, mostly dog: a dog source, all on one side
        _pair(dataset, n, "dog" if n < 2 else "cat", group="video-a")
    for n in range(3, 7):
        _pair(dataset, n, "cat")  # four cat pairs without a source: four sources
    _pair(dataset, 7, "cat", status=PairStatus.DISCARDED)
    summary = split_dataset(dataset, test_fraction=0.5, seed=2)
    assert (summary["groups"], summary["train_pairs"], summary["test_pairs"]) == (5, 5, 2)
    # pairs count under their own label (the video's cat pair is a cat pair in train), sources under theirs
    assert summary["per_class"]["cat"] == {"train_pairs": 3, "test_pairs": 2, "train_groups": 2, "test_groups": 2}
    assert summary["per_class"]["dog"] == {"train_pairs": 2, "test_pairs": 0, "train_groups": 1, "test_groups": 0}
    assert set(dataset.pairs.filter(group="video-a").values_list("split", flat=True)) == {Split.TRAIN}
    dataset.refresh_from_db()
    assert dataset.split_seed == 2 and dataset.info["split"]["test_pairs"] == 2
    with_discarded = split_dataset(dataset, test_fraction=0.5, seed=2, include_discarded=True)
    assert with_discarded["groups"] == 6 and with_discarded["include_discarded"] is True
    assert with_discarded["train_pairs"] + with_discarded["test_pairs"] == 8


def test_bad_parameters_are_refused_before_any_job():
    dataset = Dataset.objects.create(name="empty", source="manifest", root="e")
    with pytest.raises(SplitError, match="has no kept pairs"):
        split_dataset(dataset)
    _pair(dataset, 0, "dog", status=PairStatus.DISCARDED)
    with pytest.raises(SplitError, match="has no kept pairs"):
        split_dataset(dataset)
    assert split_dataset(dataset, include_discarded=True)["train_pairs"] == 1  # one source: never in test
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        SplitParams(dataset_id=dataset.pk, test_fraction=0.0)
    job = launch_split(dataset, test_fraction=0.2, seed=9, enqueue=False)
    assert job.kind == "split_dataset" and job.params == {"dataset_id": dataset.pk, "test_fraction": 0.2, "seed": 9,
                                                          "include_discarded": False}


def test_split_is_by_group_stratified_and_seeded():
    groups = {f"{label}-{i}": label for label in ("dog", "drum", "piano") for i in range(10)}
    groups["lonely-0"] = "lonely"
    first = assign_groups(groups, 0.2, seed=7)
    assert first == assign_groups(groups, 0.2, seed=7) and first != assign_groups(groups, 0.2, seed=8)
    for label in ("dog", "drum", "piano"):
        assert sum(first[f"{label}-{i}"] == Split.TEST for i in range(10)) == 2
    assert first["lonely-0"] == Split.TRAIN  # a class with one source cannot be on both sides
    with pytest.raises(SplitError, match="strictly between 0 and 1"):
        assign_groups(groups, 1.0, seed=0)
