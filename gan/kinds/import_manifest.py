"""The `import_manifest` job: each row of a CSV manifest (sound, image[, label, split, group]) becomes
a pair, resumable (a row already imported is skipped). The writes for each row are
gan.services.manifest_import.import_row's."""
from __future__ import annotations

from collections import Counter
from dataclasses import asdict

from jobs.context import JobContext

from ..models import ImportStatus
from ..services.import_sources import printable
from ..services.ingest import finish_dataset, import_target, summary
from ..services.manifest_import import ManifestImportParams, import_row, read_manifest, row_source


def run_manifest_import(ctx: JobContext, p: ManifestImportParams) -> dict:
    manifest = read_manifest(p.manifest)
    if manifest.ignored_columns:
        ctx.log(f"columns not used: {', '.join(printable(c, 40) for c in manifest.ignored_columns)}")
    total = len(manifest.rows)
    counts, codes = Counter(), Counter()
    with import_target(p.dataset, source="manifest", image_size=p.image_size, channels=p.channels) as dataset:
        done = set(dataset.import_records.filter(status=ImportStatus.IMPORTED).values_list("source", flat=True))
        for index, (line, row) in enumerate(manifest.rows):
            ctx.check_cancelled()
            source = row_source(row)
            if source in done and None not in row and None not in row.values():
                counts["skipped"] += 1
            else:
                import_row(ctx, dataset, manifest, line, row, p, counts, codes)
            ctx.progress(index + 1, total, metrics=summary(counts, codes, total), message=f"{index + 1}/{total} rows")
    result = summary(counts, codes, total)
    finish_dataset(dataset, "import_manifest", asdict(p), result)
    return result
