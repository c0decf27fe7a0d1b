"""Model selection by validation (gan/ml/model_selection.py): the best score beyond min_delta is the
result, validations without one count towards the patience, and a run still improving at its cap
says so."""
from gan.ml.model_selection import converged, new_record, record_score, summary


def test_only_an_improvement_beyond_min_delta_is_a_new_best_and_the_rest_count_as_stale():
    record = new_record()
    scores = [(10, 0.20), (20, 0.25), (30, 0.255), (40, 0.24), (50, 0.31)]
    assert [record_score(record, step, score, min_delta=0.01) for step, score in scores] == [
        True, True, False, False, True]
    assert (record["best"], record["best_step"], record["stale"]) == (0.31, 50, 0)
    assert record["history"] == [[step, score] for step, score in scores]


def test_patience_is_validations_in_a_row_without_a_new_best():
    record = new_record()
    for step, score in [(1, 0.5), (2, 0.4), (3, 0.45)]:
        record_score(record, step, score, min_delta=0.0)
    assert record["stale"] == 2
    assert converged(record, 2) and not converged(record, 3)
    assert not converged(record, 0)  # no patience: never stops early


def test_the_summary_says_whether_the_best_came_in_the_last_validations():
    record = new_record()
    for step, score in [(100, 0.1), (200, 0.3), (300, 0.2), (400, 0.25)]:
        record_score(record, step, score, min_delta=0.0)
    done = summary(record, patience=2)
    assert done == {"best_step": 200, "best_score": 0.3, "validations": 4,
                    "validation_history": [[100, 0.1], [200, 0.3], [300, 0.2], [400, 0.25]],
                    "improving_at_end": False}
    assert summary(record, patience=3)["improving_at_end"]  # 200 is among the last three
    assert summary(new_record(), patience=0) == {"best_step": None, "best_score": None, "validations": 0,
                                                 "validation_history": [], "improving_at_end": False}
