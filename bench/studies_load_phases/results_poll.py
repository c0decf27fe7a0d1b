"""The results-poll phase: CPU ms per poll of Tables 5 and 6 computed from scratch against one that
finds nothing changed (served from the results cache)."""
from __future__ import annotations

import time

from .export import make_responses


def results_poll_bench(args) -> None:
    """CPU of one poll of the results (the staff API's figures and the live page's fragment, in this
    process, no HTTP) at --poll-answers answers: computed from scratch (what every poll cost before
    the results cache, the baseline) against a poll that finds nothing changed (served from the cache)."""
    from django.template.loader import render_to_string

    from studies.charts import chart_context
    from studies.selectors.results import study_results
    from studies.selectors.results_cache import cached_results

    def poll(study, results):
        render_to_string("admin/studies/study/results_body.html", {"study": study, **chart_context(results)})

    print(f"\n== Results poll at {args.poll_answers} answers (CPU ms per poll, this process) ==")
    for kind, table in (("rating", "Table 5"), ("correlation", "Table 6")):
        study = make_responses(args.poll_answers, kind)
        start = time.process_time()
        for _ in range(args.poll_cold):
            poll(study, study_results(study))
        cold = 1000 * (time.process_time() - start) / args.poll_cold
        cached_results(study)  # the first poll computes and keeps them
        start = time.process_time()
        for _ in range(args.poll_repeats):
            results = cached_results(study)
            poll(study, results)
        warm = 1000 * (time.process_time() - start) / args.poll_repeats
        assert results["freshness"]["up_to_date"] and results["progress"]["votes"] == args.poll_answers
        print(f"{table + ', computed':>24}: {cold:8.1f} ms CPU per poll (n={args.poll_cold})")
        print(f"{table + ', nothing new':>24}: {warm:8.2f} ms CPU per poll (n={args.poll_repeats}; target < 20); "
              f"ratio to computing {warm / cold:.3f}")
