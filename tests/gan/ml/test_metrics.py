"""Inception Score, FID and class consistency: known distributions and agreement with torchmetrics /
torch-fidelity fed the same classifier outputs in the same order."""
import numpy as np
import pytest
import torch
from torch_fidelity.metric_isc import isc_features_to_metric
from torchmetrics.image.fid import FrechetInceptionDistance
from torchmetrics.image.inception import InceptionScore

from gan.ml.metrics import (
    MetricInputError,
    class_consistency,
    fid_from_features,
    frechet_distance,
    inception_score,
    split_bounds,
)


def softmax(logits):
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


def class_ordered_logits(n_per_class=25, classes=10, dims=1000, seed=0):
    """Logits of a classifier that is fairly sure of one class per image, images grouped by class,
    like the paper's test set read class directory by class directory."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0.0, 1.0, size=(n_per_class * classes, dims))
    for index in range(n_per_class * classes):
        logits[index, (index // n_per_class) * 7] += rng.uniform(3.0, 9.0)
    return logits


# --- known distributions -------------------------------------------------------------------------

def test_uniform_predictions_score_one():
    result = inception_score(np.full((50, 10), 0.1), splits=10)
    assert result.mean == pytest.approx(1.0, abs=1e-12)
    assert result.std == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("k", [2, 5, 10, 37])
def test_k_equally_used_one_hot_classes_score_k(k):
    one_hot = np.eye(k)[np.repeat(np.arange(k), 4)]
    assert inception_score(one_hot, splits=1).mean == pytest.approx(k, rel=1e-12)
    # classes interleaved: each of 4 contiguous splits holds every class once, so every split scores k
    interleaved = np.eye(k)[np.tile(np.arange(k), 4)]
    result = inception_score(interleaved, splits=4, order="paper")
    assert result.per_split == pytest.approx([k] * 4, rel=1e-12)
    assert result.std == pytest.approx(0.0, abs=1e-9)


def test_paper_order_on_class_sorted_images_gives_one_class_per_split():
    """Why the paper's std is large: class-ordered images cut into contiguous splits."""
    one_hot = np.eye(10)[np.repeat(np.arange(10), 10)]
    paper = inception_score(one_hot, splits=10, order="paper")
    assert paper.per_split == pytest.approx([1.0] * 10)  # each split holds one class only
    shuffled = inception_score(one_hot, splits=10, order="shuffled", seed=0)
    assert shuffled.mean > 3.0


def test_split_bounds_follow_openai_convention():
    # 248 images (the paper's test set) in 10 splits: sizes 24 or 25, cut at i * N // 10
    bounds = split_bounds(248, 10)
    assert bounds[0] == (0, 24) and bounds[1] == (24, 49) and bounds[-1] == (223, 248)
    assert sum(stop - start for start, stop in bounds) == 248


def test_result_records_how_it_was_computed():
    result = inception_score(softmax(class_ordered_logits()), splits=5, order="shuffled", seed=7)
    assert (result.n, result.splits, result.order, result.seed) == (250, 5, "shuffled", 7)
    assert len(result.per_split) == 5
    assert result.std == pytest.approx(np.std(result.per_split))
    assert result.std_sample == pytest.approx(np.std(result.per_split, ddof=1))
    assert inception_score(softmax(class_ordered_logits()), splits=5).seed is None


def test_shuffled_is_reproducible_and_seed_dependent():
    probs = softmax(class_ordered_logits())
    first = inception_score(probs, order="shuffled", seed=1)
    assert inception_score(probs, order="shuffled", seed=1) == first
    assert inception_score(probs, order="shuffled", seed=2).per_split != first.per_split


# --- agreement with torch-fidelity and torchmetrics ----------------------------------------------

@pytest.mark.parametrize("n_per_class", [25, 24])  # 250 images, and 240 + a ragged 248 below
def test_agrees_with_torch_fidelity_in_both_orders(n_per_class):
    logits = class_ordered_logits(n_per_class=n_per_class)
    if n_per_class == 24:
        logits = np.concatenate([logits, class_ordered_logits(n_per_class=1, classes=8, seed=1)])
    probs = softmax(logits)
    reference_paper = isc_features_to_metric(torch.from_numpy(logits), splits=10, shuffle=False)
    ours_paper = inception_score(probs, splits=10, order="paper")
    assert ours_paper.mean == pytest.approx(reference_paper["inception_score_mean"], rel=1e-10)
    assert ours_paper.std == pytest.approx(reference_paper["inception_score_std"], rel=1e-8)

    reference_shuffled = isc_features_to_metric(torch.from_numpy(logits), splits=10, shuffle=True, rng_seed=2020)
    ours_shuffled = inception_score(probs, splits=10, order="shuffled", seed=2020)
    assert ours_shuffled.mean == pytest.approx(reference_shuffled["inception_score_mean"], rel=1e-10)
    assert ours_shuffled.std == pytest.approx(reference_shuffled["inception_score_std"], rel=1e-8)
    # and the two orders genuinely differ on class-ordered data: each contiguous split sees one or two
    # classes, so its marginal is narrow and its score low
    assert ours_paper.mean < ours_shuffled.mean - 0.5


def test_agrees_with_torchmetrics_given_its_permutation_and_std():
    """torchmetrics shuffles with the global torch RNG and reports ddof=1 std. A fair comparison:
    predict its permutation from the seed, hand it rows pre-arranged so that after its shuffle they
    are back in our order, and compare with our sample std. N divisible by splits, because
    torch.chunk cuts ceil(N/splits) rows per part where OpenAI cuts at i*N//splits."""
    logits = class_ordered_logits(n_per_class=25)
    n = logits.shape[0]
    torch.manual_seed(123)
    permutation = torch.randperm(n).numpy()
    arranged = np.empty_like(logits)
    arranged[permutation] = logits  # arranged[permutation] == logits, i.e. undone by its shuffle

    metric = InceptionScore(feature=torch.nn.Identity(), splits=10)
    metric.update(torch.from_numpy(arranged))
    torch.manual_seed(123)
    tm_mean, tm_std = metric.compute()

    ours = inception_score(softmax(logits), splits=10, order="paper")
    assert ours.mean == pytest.approx(float(tm_mean), rel=1e-10)
    assert ours.std_sample == pytest.approx(float(tm_std), rel=1e-8)
    assert ours.std < ours.std_sample  # population vs sample std: the conventions do differ


# --- bad input -------------------------------------------------------------------------------------

def test_fewer_images_than_splits_is_a_clear_error():
    with pytest.raises(MetricInputError, match="9 images cannot be cut into 10 splits"):
        inception_score(np.full((9, 4), 0.25), splits=10)


def test_empty_set_is_a_clear_error():
    with pytest.raises(MetricInputError, match="empty"):
        inception_score(np.zeros((0, 10)))
    with pytest.raises(MetricInputError, match="at least 2 images"):
        fid_from_features(np.zeros((0, 8)), np.ones((5, 8)))


@pytest.mark.parametrize("bad, message", [
    (np.array([[0.5, 0.6], [0.5, 0.5]]), "row 0 .* sums to 1.1"),
    (np.array([[2.0, -1.0], [0.5, 0.5]]), "negative"),
    (np.array([[np.nan, 1.0], [0.5, 0.5]]), "NaN"),
    (np.ones(5) / 5, "2-D"),
])
def test_rows_that_are_not_distributions_are_rejected(bad, message):
    with pytest.raises(MetricInputError, match=message):
        inception_score(bad, splits=1)
    assert issubclass(MetricInputError, ValueError)


def test_bad_split_arguments_are_rejected():
    probs = np.full((20, 4), 0.25)
    for splits in (0, -1, 2.5, True):
        with pytest.raises(MetricInputError, match="splits"):
            inception_score(probs, splits=splits)
    with pytest.raises(MetricInputError, match="order"):
        inception_score(probs, splits=2, order="random")


# --- FID --------------------------------------------------------------------------------------------

def test_fid_of_a_set_against_itself_is_zero_and_grows_with_noise():
    rng = np.random.default_rng(0)
    base = rng.normal(size=(400, 32)) @ rng.normal(size=(32, 32))
    assert fid_from_features(base, base) == pytest.approx(0.0, abs=1e-6)
    distances = [fid_from_features(base, base + rng.normal(scale=scale, size=base.shape))
                 for scale in (0.1, 0.3, 1.0, 3.0)]
    assert all(later > earlier for earlier, later in zip(distances, distances[1:])), distances


def test_fid_of_gaussians_matches_closed_form():
    # 1-D: d^2 = (m1 - m2)^2 + s1^2 + s2^2 - 2 s1 s2 = (m1-m2)^2 + (s1-s2)^2
    assert frechet_distance([1.0], [[4.0]], [3.0], [[9.0]]) == pytest.approx(4.0 + 1.0)
    assert frechet_distance(np.zeros(3), np.eye(3), np.ones(3), 4 * np.eye(3)) == pytest.approx(3 + 3)


def test_fid_agrees_with_torchmetrics_fed_the_same_features():
    rng = np.random.default_rng(1)
    real = rng.normal(size=(300, 64))
    fake = rng.normal(loc=0.2, scale=1.3, size=(250, 64))
    metric = FrechetInceptionDistance(feature=_Features64())
    metric.update(torch.from_numpy(real), real=True)
    metric.update(torch.from_numpy(fake), real=False)
    assert fid_from_features(real, fake) == pytest.approx(float(metric.compute()), rel=1e-6)


def test_fid_with_fewer_images_than_dimensions_matches_the_sqrtm_formula():
    """Rank-deficient covariances (e.g. 248 test images, 2048-d features) take the exact low-rank
    route; it must give what the standard sqrtm formula gives on the same data."""
    rng = np.random.default_rng(2)
    a = rng.normal(size=(60, 200)) @ rng.normal(size=(200, 200)) / 10
    b = rng.normal(loc=0.5, size=(45, 200)) @ rng.normal(size=(200, 200)) / 10
    standard = frechet_distance(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))
    assert fid_from_features(a, b) == pytest.approx(standard, rel=1e-7)
    assert fid_from_features(a, a) == pytest.approx(0.0, abs=1e-6)


def test_fid_low_rank_route_agrees_with_torchmetrics():
    # 512-d rather than 2048-d only because torchmetrics' D x D eigvals takes over a minute here at 2048
    rng = np.random.default_rng(3)
    real = np.abs(rng.normal(size=(40, 512)))
    fake = np.abs(rng.normal(loc=0.1, size=(40, 512)))
    metric = FrechetInceptionDistance(feature=_Features512())
    metric.update(torch.from_numpy(real), real=True)
    metric.update(torch.from_numpy(fake), real=False)
    assert fid_from_features(real, fake) == pytest.approx(float(metric.compute()), rel=1e-6)


def test_fid_rejects_mismatched_or_broken_features():
    with pytest.raises(MetricInputError, match="dimension"):
        fid_from_features(np.ones((5, 3)), np.ones((5, 4)))
    with pytest.raises(MetricInputError, match="NaN"):
        fid_from_features(np.full((5, 3), np.nan), np.ones((5, 3)))


class _Features64(torch.nn.Module):
    """Identity 'feature extractor' so torchmetrics sees exactly our features."""
    num_features = 64

    def forward(self, x):
        return x


class _Features512(_Features64):
    num_features = 512


# --- class consistency ------------------------------------------------------------------------------

def test_class_consistency_per_class_and_overall():
    result = class_consistency(pred_labels=[0, 0, 1, 2, 1, -1], true_labels=[0, 0, 1, 1, 1, 2],
                               class_names=["dog", "drum", "piano", "dam"])
    assert result.overall == pytest.approx(4 / 6)
    assert result.per_class == {"dog": 1.0, "drum": pytest.approx(2 / 3), "piano": 0.0}
    assert result.per_class_n == {"dog": 2, "drum": 3, "piano": 1, "dam": 0}
    assert result.n == 6


def test_class_consistency_bad_input():
    with pytest.raises(MetricInputError, match="empty"):
        class_consistency([], [], ["a"])
    with pytest.raises(MetricInputError, match="2 predictions for 3"):
        class_consistency([0, 1], [0, 1, 1], ["a", "b"])
    with pytest.raises(MetricInputError, match="true_labels"):
        class_consistency([0], [5], ["a", "b"])


def test_class_predictions_open_and_closed_set():
    from gan.ml.metrics import class_predictions

    # outputs: 0 -> class 0, 1 -> class 0, 2 -> class 1, 3 -> none of the classes
    mapping = [0, 0, 1, -1]
    probs = np.array([[0.3, 0.3, 0.1, 0.3],    # open: output 0 -> class 0; closed: 0.6 vs 0.1 -> class 0
                      [0.1, 0.1, 0.3, 0.5],    # open: output 3 -> -1;      closed: 0.2 vs 0.3 -> class 1
                      [0.05, 0.2, 0.35, 0.4]])  # open: -1;                 closed: 0.25 vs 0.35 -> class 1
    assert class_predictions(probs, mapping, 2).tolist() == [0, -1, -1]
    assert class_predictions(probs, mapping, 2, closed_set=True).tolist() == [0, 1, 1]
    with pytest.raises(MetricInputError, match="no classifier output"):
        class_predictions(probs, mapping, 3, closed_set=True)


def test_within_class_diversity_sees_collapse():
    from gan.ml.metrics import within_class_diversity

    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1], 50)
    spread = rng.normal(0, 1, (100, 16))
    collapsed = spread * 0.01 + labels[:, None]
    wide = within_class_diversity(spread, labels)
    narrow = within_class_diversity(collapsed, labels)
    assert wide["value"] == pytest.approx(np.sqrt(2 * 16), rel=0.1)   # E|x - y| for N(0, I_16)
    assert narrow["value"] == pytest.approx(0.01 * wide["value"], rel=1e-6)
    assert set(wide["per_class"]) == {0, 1} and wide["n"] == 100
    with pytest.raises(MetricInputError, match="2 or more"):
        within_class_diversity(spread[:2], [0, 1])
