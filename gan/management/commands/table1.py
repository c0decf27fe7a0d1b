"""Print a dataset's Table 1 (pairs per class: kept, discarded, discard rate) and its split."""
import json

from django.core.management.base import BaseCommand

from gan.selectors.datasets import TABLE1_TITLE, split_table, split_warnings, table1, table1_csv

from ._ingest_common import dataset_named
from ._tables import split_lines, table1_lines, write_warnings


class Command(BaseCommand):
    help = ("Table 1 of the paper for a dataset: pairs per class, kept and discarded by cleaning, the discard "
            "rate; then kept pairs and sources per class and split, with a warning for each empty cell.")

    def add_arguments(self, parser):
        parser.add_argument("dataset")
        parser.add_argument("--format", choices=["text", "csv", "json"], default="text",
                            help="text (default), csv (Table 1 only, spreadsheet-safe) or json (everything)")

    def handle(self, *args, dataset, format, **options):
        dataset = dataset_named(dataset)
        table = split_table(dataset)
        if format == "csv":
            self.stdout.write(table1_csv(dataset), ending="")
        elif format == "json":
            self.stdout.write(json.dumps({"dataset": dataset.name, "table1": table1(dataset), "split": table,
                                          "cleaning": dataset.info.get("cleaning"),
                                          "warnings": split_warnings(dataset, table)}, indent=2))
            return
        else:
            cleaning = dataset.info.get("cleaning")
            how = (f"cleaned with map {cleaning['class_map']!r}, top-{cleaning['top_k']}, {cleaning['image_classifier']}"
                   if cleaning else "not cleaned yet")
            self.stdout.write(f"{TABLE1_TITLE}: dataset {dataset.name!r} ({how})")
            self.stdout.write("\n".join(table1_lines(dataset)))
            if table["rows"]:
                self.stdout.write("\nkept pairs per split")
                self.stdout.write("\n".join(split_lines(table)))
        write_warnings(self, dataset, table)
