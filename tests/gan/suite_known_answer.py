"""The quick suite whose tables were captured with the plan-based suite (before its cells were rows,
commit da46d46) as a known answer: its database rows (tests/gan/known_answers/suite_quick_db.json)
and the report they gave (suite_quick_report.json). tests/gan/test_suite_rows.py checks that the
rows built from that run's plan give the same tables, and that a run of the same suite today gives
the same numbers."""
import json
from pathlib import Path

from gan.reports.formats import to_csv, to_latex, to_markdown

KNOWN = Path(__file__).resolve().parent / "known_answers"
DB_FIXTURE = KNOWN / "suite_quick_db.json"
REPORT = KNOWN / "suite_quick_report.json"

# The quick preset, shrunk like the other suite tests (tests/gan/suite_settings.py), with two seeds,
# model selection, a held-out source and rows f and g, so every table, the probe ceilings, Table 3,
# the intervals across seeds and the verdicts have something to show.
CONFIG = dict(preset="quick", features=["mfcc", "fbank"], variants=["f", "g"], table4_feature="mfcc",
              seeds=[0, 1], metrics=["inception_score", "class_consistency", "fid"], splits=3,
              model={"g_width": 8, "d_width": 8, "z_dim": 4},
              train={"iterations": 6, "batch_size": 8, "checkpoint_every": 2, "sample_every": 6, "log_every": 2,
                     "validate_every": 2, "patience": 1, "keep_checkpoints": "best-and-last"},
              validation={"classifier": "domain"})

# What differs between two runs of the same suite and is not a result: row ids, paths under a job's
# folder and the wall clock.
VOLATILE = {"evaluation_id", "run_id", "checkpoint_id", "suite_job_id", "checkpoint_path", "images", "elapsed_s"}


def outputs(report) -> dict:
    """Everything a report is read as: its JSON, Markdown, CSV and LaTeX."""
    return {"as_dict": json.loads(json.dumps(report.as_dict())), "markdown": to_markdown(report),
            "csv": to_csv(report), "latex": to_latex(report)}


def results(data):
    """A report's JSON without what differs between two runs of the same suite."""
    if isinstance(data, dict):
        return {k: results(v) for k, v in data.items() if k not in VOLATILE}
    if isinstance(data, list):
        return [results(v) for v in data]
    return data


# Training runs on whatever CPU the tests run on, and PyTorch's kernels differ in their last bits
# between CPU families; a suite this small (width 8, six iterations) carries those bits into its
# figures. Measured on an AMD EPYC against the capture machine: every count, status, picked iteration
# and label the same; class consistency, FID and Inception Score within 1%; within-class diversity
# within 7.6%. Intervals across two seeds multiply the seeds' spread by t(1) = 12.7, so their ends
# move by more and are checked to hold their value instead.
FLOAT_REL = 0.10


def assert_same_results(got, known, path="report") -> None:
    """Same structure and every non-float leaf equal; floats within FLOAT_REL; an interval ('ci')
    holds its value."""
    if isinstance(known, dict):
        assert isinstance(got, dict) and set(got) == set(known), f"{path}: keys {sorted(got)} != {sorted(known)}"
        for key in known:
            if key == "ci" and isinstance(known[key], list) and len(known[key]) == 2:
                low, high = got[key]
                assert low <= got.get("value", low) <= high, f"{path}.ci {got[key]} does not hold {got.get('value')}"
                continue
            assert_same_results(got[key], known[key], f"{path}.{key}")
    elif isinstance(known, list):
        assert isinstance(got, list) and len(got) == len(known), f"{path}: {len(got)} items != {len(known)}"
        for index, (g, k) in enumerate(zip(got, known)):
            assert_same_results(g, k, f"{path}[{index}]")
    elif isinstance(known, float) and isinstance(got, float):
        assert abs(got - known) <= FLOAT_REL * max(abs(got), abs(known)) + 1e-9, f"{path}: {got} != {known}"
    else:
        assert got == known, f"{path}: {got!r} != {known!r}"
