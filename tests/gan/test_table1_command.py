"""manage.py table1 DATASET: Table 1, the split per class, and a warning for every empty split cell;
the split job and command warn the same way."""
import csv
import io
import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from gan.models import Dataset, Pair, PairStatus
from gan.selectors.datasets import split_table, split_warnings
from jobs.models import Job

pytestmark = pytest.mark.django_db


@pytest.fixture
def dataset():
    """dog: 3 videos (kept), violin: 1 video (kept), 2 discarded frames; not split yet."""
    dataset = Dataset.objects.create(name="pets", source="videos", root="datasets/pets", class_names=["dog", "violin"])
    rows = [("dog", f"dog/{v}.mp4", PairStatus.KEPT) for v in "abc" for _ in range(2)]
    rows += [("violin", "violin/v.mp4", PairStatus.KEPT)] * 2 + [("unmapped", "dog/x.mp4", PairStatus.DISCARDED)] * 2
    Pair.objects.bulk_create([Pair(dataset=dataset, sound=f"{group}.flac", image=f"{group}/{i}.png", label=label,
                                   group=group, status=status) for i, (label, group, status) in enumerate(rows)])
    return dataset


def table1(*args):
    out, err = StringIO(), StringIO()
    call_command("table1", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_table1_before_the_split_warns_that_the_test_split_is_empty(dataset):
    out, err = table1("pets")
    assert out.startswith("Table 1. Pairs per class, kept and discarded by cleaning: dataset 'pets' (not cleaned yet)")
    lines = out.splitlines()
    assert lines[2].split() == ["dog", "6", "6", "0", "0", "0.0%"]
    assert lines[3].split() == ["violin", "2", "2", "0", "0", "0.0%"]
    assert lines[4].split() == ["unmapped", "2", "0", "2", "0", "100.0%"]
    assert lines[5].split() == ["total", "10", "8", "2", "0", "20.0%"]
    assert "warning: the test split is empty: no kept pair is in it (split the dataset: split_dataset pets)" in err


@pytest.mark.django_db(transaction=True)  # --inline runs the job in a thread with its own connection
def test_the_split_leaves_violin_without_test_pairs_and_everyone_is_told(dataset, settings):
    out = StringIO()
    err = StringIO()
    call_command("split_dataset", "pets", "--test-fraction", "0.34", "--inline", stdout=out, stderr=err)
    warning = "class 'violin' has no test pairs; it has 1 source(s) and a source never straddles the split"
    assert warning in err.getvalue()
    job = Job.objects.get(kind="split_dataset")
    assert f"warning: {warning}" in job.log_tail and warning in " ".join(job.metrics["warnings"])
    dataset.refresh_from_db()
    assert dataset.info["split"]["warnings"] == split_warnings(dataset)
    table = split_table(dataset)
    assert table["splits"] == ["train", "test"]
    by_class = {row["class"]: row for row in table["rows"]}
    assert (by_class["dog"]["train_groups"], by_class["dog"]["test_groups"]) == (2, 1)
    assert (by_class["violin"]["train_pairs"], by_class["violin"]["test_pairs"]) == (2, 0)
    text, err = table1("pets")
    assert "kept pairs per split" in text and warning in err
    assert "the test split is empty" not in err


def test_csv_and_json_formats(dataset):
    Pair.objects.filter(label="violin").update(label="=1+2")
    dataset.class_names = ["dog", "=1+2"]
    dataset.save()
    text, _ = table1("pets", "--format", "csv")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["class", "pairs", "kept", "discarded", "pending", "discard_rate"]
    assert ["'=1+2", "2", "2", "0", "0", "0.0"] in rows  # escaped for spreadsheets
    document = json.loads(table1("pets", "--format", "json")[0])
    assert document["table1"][-1]["class"] == "total" and document["split"]["splits"] == ["train", "test"]
    assert any("test split is empty" in w for w in document["warnings"])


def test_an_empty_dataset_says_what_to_do():
    Dataset.objects.create(name="empty", source="videos", root="datasets/empty")
    _, err = table1("empty")
    assert "has no kept pairs: clean it" in err
    with pytest.raises(CommandError, match="no dataset named 'nope'; have: empty"):
        table1("nope")
