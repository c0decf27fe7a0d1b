"""Shared by the data commands (import_videos, import_manifest, clean_dataset, split_dataset, table1)."""
from django.core.management.base import CommandError

from gan.models import Dataset


def dataset_named(name: str) -> Dataset:
    dataset = Dataset.objects.filter(name=name).first()
    if dataset is None:
        known = list(Dataset.objects.order_by("name").values_list("name", flat=True)[:20])
        raise CommandError(f"no dataset named {name!r}" + (f"; have: {', '.join(known)}" if known else ""))
    return dataset
