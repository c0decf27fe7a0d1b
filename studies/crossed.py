"""Inference for crossed designs: every vote comes from one rater about one item, and raters and items
are both random samples, so votes share a rater effect and an item effect.

Treating votes as independent (binomial / Wilson) or clustering by rater only ignores the item
effect, and their 95% intervals cover far less than 95% (in our simulations 63-93% for Table 5
means, 84-90% for Table 6 shares, with 10-20 raters). The estimator here is the two-way
cluster-robust variance of Cameron, Gelbach & Miller (2011) for OLS: V = V_rater + V_item - V_vote,
each with the CR1 small-sample factor G/(G-1) * (N-1)/(N-K), with a t distribution on
min(raters, items) - 1 degrees of freedom; where the difference is not larger than a one-way term
the larger one-way term is used (the CGM fallback, conservative). Simulated with rater and item
effects on the 1-5 scale and on shares, its 95% intervals covered 93.8-97.1% of the truth over the
designs we tried (tests/studies/test_stats_simulation.py runs 500 studies).

Hand-written because it must run vectorised over many simulated studies at once (the coverage
test); statsmodels fits one model at a time. For a single study it equals statsmodels'
cov_cluster_2groups (tested to 1e-10). Pure numpy/scipy, no Django.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class CrossedFit:
    """OLS coefficients with two-way (rater x item) cluster-robust standard errors.

    Arrays have a leading axis of simulated studies when the outcome had one."""

    coef: np.ndarray           # (..., K)
    se: np.ndarray             # (..., K)
    df: int                    # min(raters, items) - 1
    n_raters: int
    n_items: int

    def interval(self, confidence: float, index: int = 0) -> tuple[np.ndarray, np.ndarray]:
        from scipy import stats as sps
        
        half = sps.t.ppf(0.5 + confidence / 2, self.df) * self.se[..., index]
        return self.coef[..., index] - half, self.coef[..., index] + half

    def t_test(self, index: int = 0, null: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        """(t statistic, two-sided p) for coefficient `index` == null."""
        from scipy import stats as sps
        
        with np.errstate(divide="ignore", invalid="ignore"):
            t = (self.coef[..., index] - null) / self.se[..., index]
        return t, 2 * sps.t.sf(np.abs(t), self.df)


def _codes(labels) -> tuple[np.ndarray, int]:
    _, codes = np.unique(np.asarray(labels, dtype=object).astype(str), return_inverse=True)
    return codes, int(codes.max()) + 1 if len(codes) else 0


def _one_way(scores: np.ndarray, codes: np.ndarray, groups: int) -> np.ndarray:
    """sum over groups of (sum of scores in the group)(...)^T: (..., K, K)."""
    onehot = np.zeros((len(codes), groups))
    onehot[np.arange(len(codes)), codes] = 1.0
    sums = np.einsum("ng,...nk->...gk", onehot, scores)
    return np.einsum("...gk,...gl->...kl", sums, sums)


def crossed_ols(y, design, raters, items) -> CrossedFit:
    """Fit y = design @ coef by OLS with two-way cluster-robust SEs.

    y: (N,) or (S, N) (S simulated studies sharing one design); design: (N, K); raters, items:
    (N,) labels. Needs at least two raters and two items.
    """
    y = np.asarray(y, dtype=float)
    x = np.asarray(design, dtype=float)
    n, k = x.shape
    rater_codes, n_raters = _codes(raters)
    item_codes, n_items = _codes(items)
    if min(n_raters, n_items) < 2:
        raise ValueError("crossed inference needs at least two raters and two items")
    bread = np.linalg.inv(x.T @ x)
    coef = np.einsum("kl,...n,nl->...k", bread, y, x)
    residuals = y - np.einsum("...k,nk->...n", coef, x)
    scores = residuals[..., None] * x  # (..., N, K)
    small = (n - 1) / (n - k)

    def sandwich(meat, groups):
        return groups / (groups - 1) * small * np.einsum("kl,...lm,mj->...kj", bread, meat, bread)

    v_rater = sandwich(_one_way(scores, rater_codes, n_raters), n_raters)
    v_item = sandwich(_one_way(scores, item_codes, n_items), n_items)
    v_vote = sandwich(np.einsum("...nk,...nl->...kl", scores, scores), n)
    diagonal = np.diagonal(v_rater + v_item - v_vote, axis1=-2, axis2=-1)
    floor = np.maximum(np.diagonal(v_rater, axis1=-2, axis2=-1), np.diagonal(v_item, axis1=-2, axis2=-1))
    return CrossedFit(coef=coef, se=np.sqrt(np.maximum(diagonal, floor)), df=min(n_raters, n_items) - 1,
                      n_raters=n_raters, n_items=n_items)


def crossed_mean(values, raters, items) -> CrossedFit:
    """The mean of `values` (votes, or 0/1 indicators for a share) with its crossed SE."""
    values = np.asarray(values, dtype=float)
    return crossed_ols(values, np.ones((values.shape[-1], 1)), raters, items)


def raw_two_way_covariance(y, design, raters, items) -> np.ndarray:
    """V_rater + V_item - V_vote without the fallback (what statsmodels' cov_cluster_2groups gives)."""
    y = np.asarray(y, dtype=float)
    x = np.asarray(design, dtype=float)
    n, k = x.shape
    bread = np.linalg.inv(x.T @ x)
    residuals = y - x @ (bread @ x.T @ y)
    scores = residuals[:, None] * x
    small = (n - 1) / (n - k)
    total = np.zeros((k, k))
    for labels, sign in ((raters, 1), (items, 1), (np.arange(n), -1)):
        codes, groups = _codes(labels)
        total += sign * groups / (groups - 1) * small * (bread @ _one_way(scores, codes, groups) @ bread)
    return total
