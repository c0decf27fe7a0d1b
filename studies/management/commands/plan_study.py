"""How many raters a realism or pairwise study needs, from its answers so far (a pilot, or the study itself).

    manage.py plan_study 12 --half-width 0.05                 # raters for a +-0.05 interval on each estimate
    manage.py plan_study 12 --difference 0.1 --power 0.8      # raters to detect a 0.1 difference between models

Prints each estimate's variance components (rater, item, vote), the raters needed for the target
half-width (with the study's items and each rater answering as many of them as so far), and, with
--difference, the raters needed to detect that difference between every two models' estimates at
the given power (two-sided test at --alpha). See studies/planning.py for the formulas.
"""
from itertools import combinations

from django.core.management.base import BaseCommand, CommandError

from studies.models import Study
from studies.planning import minimum_detectable_difference, raters_for_difference, recommend_raters
from studies.records import StatsInputError
from studies.selectors.kinds import KINDS_BEYOND_THE_PAPER, planning_components
from studies.selectors.results import screened_kind_records


class Command(BaseCommand):
    help = "Plan a realism or pairwise study's size from its answers so far: variance components, raters needed."

    def add_arguments(self, parser):
        parser.add_argument("study", type=int, help="The study's id (a pilot, or the study so far).")
        parser.add_argument("--half-width", type=float, default=0.05, help="Target 95%% interval half-width.")
        parser.add_argument("--difference", type=float, default=None, help="A difference between models to detect.")
        parser.add_argument("--power", type=float, default=0.8)
        parser.add_argument("--alpha", type=float, default=0.05)

    def handle(self, *args, **options):
        study = Study.objects.filter(pk=options["study"]).first()
        if study is None:
            raise CommandError(f"no study with id {options['study']}")
        if study.kind not in KINDS_BEYOND_THE_PAPER:
            raise CommandError(f"plan_study plans realism and pairwise studies; study {study.pk} is a {study.kind} study")
        if not 0 < options["power"] < 1 or not 0 < options["alpha"] < 1:
            raise CommandError("--power and --alpha must lie strictly between 0 and 1")
        records = screened_kind_records(study)
        if not records:
            raise CommandError(f"study {study.pk} has no answers yet to plan from")
        components = planning_components(records, study.kind)
        self.stdout.write(f"{study.kind} study #{study.pk}: {len(records)} answers after screening")
        try:
            for name, c in components.items():
                if isinstance(c, str):
                    self.stdout.write(f"  {name}: {c}")
                    continue
                plan = recommend_raters(c, options["half_width"])
                self.stdout.write(f"  {name}: variance rater {c.rater:.4f}, item {c.item:.4f}, vote {c.vote:.4f} "
                                  f"({c.n_votes} votes, {c.n_raters} raters, {c.n_items} items); "
                                  f"+-{options['half_width']}: {plan.note}")
            ready = {n: c for n, c in components.items() if not isinstance(c, str)}
            if options["difference"] is not None:
                for (a, ca), (b, cb) in combinations(ready.items(), 2):
                    needed = raters_for_difference(ca, cb, options["difference"], alpha=options["alpha"],
                                                   power=options["power"])
                    now = minimum_detectable_difference(ca, cb, max(2, min(ca.n_raters, cb.n_raters)),
                                                        alpha=options["alpha"], power=options["power"])
                    self.stdout.write(f"  {a} vs {b}: detectable now {now:.3f}; a difference of "
                                      f"{options['difference']} needs {needed or 'more than 2000'} raters "
                                      f"(power {options['power']}, alpha {options['alpha']})")
        except StatsInputError as error:
            raise CommandError(str(error)) from error
