"""Simulated realism and pairwise studies: do the 95% intervals cover the truth, does the planner's
predicted width match the width measured, and does stopping by precision keep the coverage?

Each simulated study draws new raters and items from a population with rater and item effects, so
the truth is the population value (computed exactly for realism, by a 4-million-draw Monte Carlo
for pairwise). Studies share one incomplete crossed design (rater r answers a rotating block of
items, every kind of item equally often) so the OLS intervals run vectorised over all studies at
once; the Bradley-Terry fits run one study at a time. Used by bench/study_kinds_coverage.py (500
studies, docs/results/study-kinds-coverage.md) and, reduced, by tests/studies/test_kinds_simulation.py.
Pure numpy/scipy/statsmodels.
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np
from scipy import stats as sps

from .crossed import crossed_mean
from .pairwise import bt_design, bt_fit
from .planning import recommend_raters, variance_components
from .realism import balanced_error_fit


def rotating_design(n_raters: int, n_items: int, per_rater: int) -> tuple[np.ndarray, np.ndarray]:
    """(rater, item) per vote: rater r answers items r*per_rater .. r*per_rater + per_rater - 1 (mod n_items)."""
    raters = np.repeat(np.arange(n_raters), per_rater)
    items = np.array([(r * per_rater + k) % n_items for r in range(n_raters) for k in range(per_rater)])
    return raters, items


# ---------------------------------------------------------------------------------- realism
@dataclass(frozen=True)
class RealismPopulation:
    """Probit error model: a vote is an error when mu + rater + item + N(0, 1) > 0. The rater effect
    is a tendency to answer "real": it raises the error on fakes and lowers it on real photos."""

    fake_mu: tuple = (-0.3, 0.2)       # per model: its fakes' error (called real) on the probit scale
    real_mu: float = -0.8              # real photos called fake
    rater_sd: float = 0.5
    item_sd: float = 0.5

    def truth(self, mu: float) -> float:
        return float(sps.norm.cdf(mu / np.sqrt(1 + self.rater_sd ** 2 + self.item_sd ** 2)))


def simulate_realism(n_studies, n_raters, items_per_kind, per_rater, population=RealismPopulation(), seed=0):
    """Errors (n_studies, votes), with the design: kinds 0 .. K-1 are the models' fakes, K the real photos.
    Item j is of kind j % (K + 1), so every rater's block holds each kind equally often."""
    kinds = len(population.fake_mu) + 1
    raters, items = rotating_design(n_raters, kinds * items_per_kind, per_rater)
    kind = items % kinds
    rng = np.random.default_rng(seed)
    bias = rng.normal(0, population.rater_sd, (n_studies, n_raters))[:, raters]
    item_effect = rng.normal(0, population.item_sd, (n_studies, kinds * items_per_kind))[:, items]
    mu = np.array([*population.fake_mu, population.real_mu])[kind]
    sign = np.where(kind < kinds - 1, 1.0, -1.0)
    errors = (mu + sign * bias + item_effect + rng.normal(0, 1, bias.shape) > 0).astype(float)
    return errors, raters, items, kind


def realism_coverage(n_studies=500, n_raters=16, items_per_kind=16, per_rater=24, population=RealismPopulation(),
                     seed=0, confidence=0.95) -> dict:
    """Coverage and mean half-width of each model's balanced error, fake share, and the real share."""
    errors, raters, items, kind = simulate_realism(n_studies, n_raters, items_per_kind, per_rater, population, seed)
    real = len(population.fake_mu)
    truth_real = population.truth(population.real_mu)
    out = {}
    for m, mu in enumerate(population.fake_mu):
        mine = (kind == m) | (kind == real)
        fit = balanced_error_fit(errors[:, mine], kind[mine] == m, raters[mine], items[mine])
        truth = (population.truth(mu) + truth_real) / 2
        out[f"error:{m}"] = _covered(fit, truth, confidence)
        fakes = kind == m
        out[f"fake:{m}"] = _covered(crossed_mean(errors[:, fakes], raters[fakes], items[fakes]), population.truth(mu),
                                    confidence)
    reals = kind == real
    out["real"] = _covered(crossed_mean(errors[:, reals], raters[reals], items[reals]), truth_real, confidence)
    return out


def _covered(fit, truth, confidence, index=0) -> dict:
    low, high = fit.interval(confidence, index)
    return {"coverage": float(np.mean((low <= truth) & (truth <= high))),
            "mean_half_width": float(np.mean((high - low) / 2)), "truth": float(truth)}


# ---------------------------------------------------------------------------------- pairwise
@dataclass(frozen=True)
class PairwisePopulation:
    """A vote on (a, b): z = beta_a - beta_b + the sound's effect on each model + the rater's taste for
    each model + the rater's lean to the left picture (sides balanced) + logistic noise; "a" when
    z > tie, "b" when z < -tie, else "no difference" (half a win each)."""

    beta: tuple = (0.0, -0.4, -0.9)
    item_sd: float = 0.6
    rater_sd: float = 0.4
    side_sd: float = 0.3
    tie: float = 0.4

    def _scores(self, rng, n, a, b):
        z = (self.beta[a] - self.beta[b] + rng.normal(0, self.item_sd * np.sqrt(2), n)
             + rng.normal(0, self.rater_sd * np.sqrt(2), n) + rng.normal(0, self.side_sd, n) * rng.choice([-1, 1], n)
             + rng.logistic(0, 1, n))
        return np.where(z > self.tie, 1.0, np.where(z < -self.tie, 0.0, 0.5))

    def truth(self, draws: int = 4_000_000, seed: int = 12345) -> tuple[dict, np.ndarray]:
        """({(a, b): a's population win rate}, the Bradley-Terry strengths of an all-pairs-equal design)."""
        import statsmodels.api as sm

        rng = np.random.default_rng(seed)
        pairs = list(combinations(range(len(self.beta)), 2))
        rates = {(a, b): float(self._scores(rng, draws, a, b).mean()) for a, b in pairs}
        x = bt_design([a for a, _ in pairs], [b for _, b in pairs], list(range(len(self.beta))))
        fit = sm.GLM(np.array([rates[p] for p in pairs]), x, family=sm.families.Binomial()).fit()
        return rates, np.asarray(fit.params)


def simulate_pairwise(n_studies, n_raters, n_sounds, per_rater, population=PairwisePopulation(), seed=0):
    """Scores (n_studies, votes) with the design: trial t is sound t // P and pair t % P."""
    k = len(population.beta)
    pairs = list(combinations(range(k), 2))
    raters, trials = rotating_design(n_raters, n_sounds * len(pairs), per_rater)
    sounds, pair = trials // len(pairs), trials % len(pairs)
    first, second = np.array([pairs[p][0] for p in pair]), np.array([pairs[p][1] for p in pair])
    rng = np.random.default_rng(seed)
    beta = np.asarray(population.beta)
    item = rng.normal(0, population.item_sd, (n_studies, n_sounds, k))
    taste = rng.normal(0, population.rater_sd, (n_studies, n_raters, k))
    lean = rng.normal(0, population.side_sd, (n_studies, n_raters))[:, raters]
    side = np.where(np.arange(len(raters)) % 2 == 0, 1.0, -1.0)  # a on the left every other trial of a rater
    z = (beta[first] - beta[second] + item[:, sounds, first] - item[:, sounds, second]
         + taste[:, raters, first] - taste[:, raters, second] + lean * side + rng.logistic(0, 1, lean.shape))
    scores = np.where(z > population.tie, 1.0, np.where(z < -population.tie, 0.0, 0.5))
    return scores, raters, sounds, first, second


def pairwise_coverage(n_studies=500, n_raters=20, n_sounds=16, per_rater=12, population=PairwisePopulation(),
                      seed=0, confidence=0.95) -> dict:
    rates, strengths = population.truth()
    scores, raters, sounds, first, second = simulate_pairwise(n_studies, n_raters, n_sounds, per_rater, population,
                                                              seed)
    out = {}
    for (a, b), truth in rates.items():
        mine = (first == a) & (second == b)
        out[f"win:{a}>{b}"] = _covered(crossed_mean(scores[:, mine], raters[mine], sounds[mine]), truth, confidence)
    x = bt_design(first, second, list(range(len(population.beta))))
    hits, halves, failed = np.zeros(len(strengths)), np.zeros(len(strengths)), 0
    for s in range(n_studies):
        fitted = bt_fit(scores[s], x, raters, sounds)
        if fitted is None:
            failed += 1
            continue
        coef, se, df = fitted
        half = sps.t.ppf(0.5 + confidence / 2, df) * se
        hits += np.abs(coef - strengths) <= half
        halves += half
    done = n_studies - failed
    for k in range(len(strengths)):
        out[f"strength:{k + 1}"] = {"coverage": float(hits[k] / done) if done else None,
                                    "mean_half_width": float(halves[k] / done) if done else None,
                                    "truth": float(strengths[k]), "fits_failed": failed}
    return out


# ---------------------------------------------------------------------------------- planning
def planner_formula_check(n_raters_list=(8, 12, 16, 24, 32), items_per_kind=16, per_rater=24, n_studies=500,
                          population=RealismPopulation(), seed=0, confidence=0.95) -> list[dict]:
    """The width formula with (nearly) the population's own components: they are estimated from one
    very large pilot (200 raters, 400 images of each kind), then the predicted half-width of model 0's
    error is compared with the mean half-width measured over `n_studies` studies of each size."""
    from .planning import predicted_half_width

    errors, raters, items, kind = simulate_realism(1, 200, 400, 120, population, seed)
    real = len(population.fake_mu)
    mine = (kind == 0) | (kind == real)
    c = variance_components(errors[0, mine], raters[mine], items[mine], groups=kind[mine], name="error:0")
    rows = []
    for n_raters in n_raters_list:
        errors, raters, items, kind = simulate_realism(n_studies, n_raters, items_per_kind, per_rater, population,
                                                       seed + n_raters)
        mine = (kind == 0) | (kind == real)
        fit = balanced_error_fit(errors[:, mine], kind[mine] == 0, raters[mine], items[mine])
        truth = (population.truth(population.fake_mu[0]) + population.truth(population.real_mu)) / 2
        measured = _covered(fit, truth, confidence)
        predicted = predicted_half_width(c, n_raters, 2 * items_per_kind, per_rater * 2 / (real + 1), confidence)
        rows.append({"raters": n_raters, "predicted_half_width": predicted,
                     "measured_half_width": measured["mean_half_width"], "coverage": measured["coverage"],
                     "ratio": predicted / measured["mean_half_width"]})
    return rows


def planner_check(target_half_width=0.06, pilot_raters=12, items_per_kind=16, per_rater=24, n_studies=500,
                  population=RealismPopulation(), seed=0, confidence=0.95) -> dict:
    """A pilot study plans model 0's realism error for a target half-width; then studies of the size it
    recommends are simulated and their intervals measured: predicted / measured half-width, coverage."""
    errors, raters, items, kind = simulate_realism(1, pilot_raters, items_per_kind, per_rater, population, seed)
    real = len(population.fake_mu)
    mine = (kind == 0) | (kind == real)
    c = variance_components(errors[0, mine], raters[mine], items[mine], groups=kind[mine], name="error:0")
    plan = recommend_raters(c, target_half_width, confidence=confidence)
    if plan.raters_needed is None:
        return {"plan": plan.to_dict(), "measured_half_width": None}
    errors, raters, items, kind = simulate_realism(n_studies, plan.raters_needed, items_per_kind, per_rater,
                                                   population, seed + 1)
    mine = (kind == 0) | (kind == real)
    fit = balanced_error_fit(errors[:, mine], kind[mine] == 0, raters[mine], items[mine])
    measured = _covered(fit, (population.truth(population.fake_mu[0]) + population.truth(population.real_mu)) / 2,
                        confidence)
    return {"plan": plan.to_dict(), "predicted_half_width": plan.predicted_half_width,
            "measured_half_width": measured["mean_half_width"], "coverage": measured["coverage"],
            "ratio": plan.predicted_half_width / measured["mean_half_width"]}


def stopping_coverage(target_half_width=0.07, min_raters=6, step=2, max_raters=60, items_per_kind=16, per_rater=24,
                      n_studies=500, population=RealismPopulation(), seed=0, confidence=0.95) -> dict:
    """Studies that look after every `step` raters and close once every model's error interval is at most
    the target half-width (or at max_raters): coverage of the intervals they report when they close."""
    errors, raters, items, kind = simulate_realism(n_studies, max_raters, items_per_kind, per_rater, population, seed)
    real = len(population.fake_mu)
    truths = [(population.truth(mu) + population.truth(population.real_mu)) / 2 for mu in population.fake_mu]
    stopped_at = np.full(n_studies, -1)
    covered = np.zeros((n_studies, real), dtype=bool)
    looks = list(range(min_raters, max_raters + 1, step))
    if looks[-1] != max_raters:
        looks.append(max_raters)
    for look in looks:
        seen = raters < look
        lows, highs = [], []
        for m in range(real):
            mine = seen & ((kind == m) | (kind == real))
            low, high = balanced_error_fit(errors[:, mine], kind[mine] == m, raters[mine], items[mine]).interval(
                confidence)
            lows.append(low)
            highs.append(high)
        lows, highs = np.array(lows).T, np.array(highs).T  # (studies, models)
        ready = np.all((highs - lows) / 2 <= target_half_width, axis=1) | (look == looks[-1])
        new = ready & (stopped_at < 0)
        stopped_at[new] = look
        covered[new] = (lows[new] <= np.array(truths)) & (np.array(truths) <= highs[new])
    return {"coverage_per_model": [float(v) for v in covered.mean(axis=0)],
            "coverage_all_models": float(np.all(covered, axis=1).mean()),
            "raters_at_stop": {"median": float(np.median(stopped_at)), "min": int(stopped_at.min()),
                               "max": int(stopped_at.max())},
            "stopped_at_cap": float(np.mean(stopped_at == looks[-1])), "target_half_width": target_half_width}

