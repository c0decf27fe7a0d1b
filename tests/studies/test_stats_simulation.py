"""Are the tables' 95% intervals honest? 500 simulated studies with rater and item effects each.

Votes come from a latent score = mean + rater effect + item effect + noise, rounded and clipped to
1-5 (Table 5), or a choice whose log-odds has a rater and an item effect (Table 6). Each study
draws new raters and items, so the truth is the population value, computed exactly. The intervals
are those of studies.crossed, which table5 and table6 use (checked below on one simulated study);
they run vectorised over all 500 studies at once, so the test takes seconds.
"""
import numpy as np
import pytest
from scipy import special
from scipy import stats as sps

from studies.crossed import crossed_mean
from studies.stats import table5, table6

STUDIES = 500
RATERS, ITEMS, PER_RATER = 12, 16, 8       # each rater rates half the items: an incomplete crossed design


def design():
    raters = np.repeat(np.arange(RATERS), PER_RATER)
    items = np.array([(r * PER_RATER + k) % ITEMS for r in range(RATERS) for k in range(PER_RATER)])
    return raters, items


def simulated_votes(seed, mean=3.2, rater_sd=0.5, item_sd=0.6, noise_sd=0.8):
    raters, items = design()
    rng = np.random.default_rng(seed)
    latent = (mean + rng.normal(0, rater_sd, (STUDIES, RATERS))[:, raters]
              + rng.normal(0, item_sd, (STUDIES, ITEMS))[:, items] + rng.normal(0, noise_sd, (STUDIES, len(raters))))
    votes = np.clip(np.rint(latent), 1, 5)
    spread = np.sqrt(rater_sd ** 2 + item_sd ** 2 + noise_sd ** 2)  # the latent score's sd in the population
    probabilities = np.diff(np.concatenate([[0], sps.norm.cdf((np.array([1.5, 2.5, 3.5, 4.5]) - mean) / spread), [1]]))
    return votes, float(probabilities @ np.arange(1, 6)), raters, items


def coverage(values, truth, raters, items):
    low, high = crossed_mean(values, raters, items).interval(0.95)
    return float(np.mean((low <= truth) & (truth <= high)))


def test_table5_intervals_cover_the_true_mean_rating_95_percent_of_the_time():
    votes, truth, raters, items = simulated_votes(seed=20260101)
    covered = coverage(votes, truth, raters, items)
    assert 0.93 <= covered <= 0.97, covered
    # The same data with votes taken as independent (what ignoring raters and items amounts to)
    # covers far less: the test can tell an honest interval from a dishonest one.
    half = sps.t.ppf(0.975, votes.shape[1] - 1) * votes.std(axis=1, ddof=1) / np.sqrt(votes.shape[1])
    naive = np.mean(np.abs(votes.mean(axis=1) - truth) <= half)
    assert naive < 0.85, naive
    # table5 reports exactly this interval
    first = [{"rater": int(r), "condition": "A", "item": int(i), "score": int(s)}
             for r, i, s in zip(raters, items, votes[0])]
    row = table5(first).conditions[0]
    low, high = crossed_mean(votes[0], raters, items).interval(0.95)
    assert (row.ci_low, row.ci_high) == pytest.approx((float(low), float(high)), rel=1e-12)


def test_table6_crossed_intervals_cover_the_true_share_95_percent_of_the_time():
    raters, items = design()
    rng = np.random.default_rng(20260102)
    log_odds, rater_sd, item_sd = 1.0, 0.7, 0.7
    p = special.expit(log_odds + rng.normal(0, rater_sd, (STUDIES, RATERS))[:, raters]
                      + rng.normal(0, item_sd, (STUDIES, ITEMS))[:, items])
    positive = (rng.random(p.shape) < p).astype(float)
    grid = np.linspace(-8, 8, 4001)  # the population share: E[expit(log_odds + effects)], effects ~ N(0, sd)
    weights = sps.norm.pdf(grid) / sps.norm.pdf(grid).sum()
    truth = float(special.expit(log_odds + np.hypot(rater_sd, item_sd) * grid) @ weights)
    covered = coverage(positive, truth, raters, items)
    assert 0.93 <= covered <= 0.97, covered
    # table6 reports exactly this interval for the positive share
    answers = [{"rater": int(r), "item": int(i), "sound_class": "c", "answer": "positive" if y else "negative"}
               for r, i, y in zip(raters, items, positive[0])]
    row = table6(answers, n_boot=200).overall
    low, high = crossed_mean(positive[0], raters, items).interval(0.95)
    assert (row.positive_crossed_ci_low, row.positive_crossed_ci_high) == pytest.approx(
        (float(low), float(high)), rel=1e-12)
