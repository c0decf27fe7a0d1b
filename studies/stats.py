"""Statistics for the human-evaluation studies (the paper's Tables 5 and 6): one import site.

Pure numpy/scipy/statsmodels/krippendorff: no Django import, so the same numbers can be computed
by the results page, the API, the CSV export and the tests. Inputs are plain records (mappings or
objects with attributes); outputs are dataclasses whose ``to_dict()`` is JSON-ready.

- studies.table5: mean rating per condition, crossed (rater x item) intervals and tests, alpha.
- studies.table6: positive / negative / neither shares with Wilson, rater-bootstrap and crossed
  intervals, and tests by answers, by raters and crossed.
- studies.crossed: the two-way cluster-robust inference both use.
- studies.screening: rater screening from catch trials.
"""
from studies.records import CatchResult, JsonMixin, PairChoice, StatsInputError, Vote, field_of
from studies.screening import (
    RaterExclusion,
    ScreenedRecords,
    ScreeningReport,
    ScreeningResult,
    ScreeningRule,
    apply_screening,
    screen_raters,
)
from studies.table5 import (
    PAIRWISE_TESTS,
    SCORES,
    ConditionSummary,
    PairwiseComparison,
    Table5Result,
    table5,
)
from studies.table6 import ANSWERS, AnswerShares, Table6Result, table6

__all__ = ["ANSWERS", "PAIRWISE_TESTS", "SCORES", "AnswerShares", "CatchResult", "ConditionSummary", "JsonMixin",
           "PairChoice", "PairwiseComparison", "RaterExclusion", "ScreenedRecords", "ScreeningReport",
           "ScreeningResult", "ScreeningRule", "StatsInputError", "Table5Result", "Table6Result", "Vote",
           "apply_screening", "field_of", "screen_raters", "table5", "table6"]
