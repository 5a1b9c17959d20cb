"""Identity linkage metrics on synthetic embeddings, where the right answer is known."""

from __future__ import annotations

import numpy as np
import pytest
from recanon_sdk.metrics.linkage import (
    MIN_IDENTITIES,
    RANK1_ALPHA,
    clustered_interval,
    linkage,
    linkage_table,
    probe_scores,
    rank1_p_value,
    verdict,
)


def _people(n: int, dim: int = 128, seed: int = 0) -> np.ndarray:
    """``n`` identities about 1.4 apart (dlib's scale: the same person within 0.6)."""
    return np.random.default_rng(seed).normal(scale=0.125, size=(n, dim))


def test_identical_embeddings_link_every_face():
    raw = _people(40)
    result = linkage(raw, range(40), raw, range(40), own=range(40))
    assert result.self_rate == 1.0 and result.self_interval == (1.0, 1.0)
    assert result.impostor_rate == 0.0
    assert result.rank1 == 1.0 and result.chance == pytest.approx(1 / 40)
    assert result.auc == 1.0 and result.auc_interval == (1.0, 1.0)
    assert result.verdict == "above chance"


def test_random_embeddings_are_at_chance_within_their_intervals():
    raw = _people(60, seed=1)
    probes = _people(60, seed=2)  # know nobody
    result = linkage(probes, range(60), raw, range(60), own=range(60))
    assert result.auc_interval[0] <= 0.5 <= result.auc_interval[1]
    assert abs(result.auc - 0.5) < 0.1
    assert result.rank1_p > RANK1_ALPHA
    assert result.verdict == "at chance"


def test_the_verdict_is_calibrated_on_embeddings_that_know_nobody():
    """Out of 100 sets of 30 people with unrelated probes, about 5 may be flagged, not 30."""
    flagged = 0
    for seed in range(100):
        rng = np.random.default_rng(seed)
        raw, probes = rng.normal(size=(2, 30, 16))
        flagged += (
            linkage(probes, range(30), raw, range(30), own=range(30), resamples=300).verdict != "at chance"
        )
    assert flagged <= 10
    # the percentile bootstrap of rank-1 alone is not: with 1/30 chance most sets have no hit at all
    empty = sum(
        linkage(p, range(30), r, range(30), own=range(30), resamples=300).rank1_interval[1] < 1 / 30
        for p, r in (np.random.default_rng(s).normal(size=(2, 30, 16)) for s in range(20))
    )
    assert empty >= 5


@pytest.mark.parametrize("seed", range(5))
def test_faces_that_all_look_alike_match_their_own_as_often_as_anyone(seed):
    """The finding this module exists for: a high raw self-match rate that is no linkage."""
    raw = 0.4 * _people(50, seed=seed)  # faces 0.6–0.9 apart: distinct to the embedder
    rng = np.random.default_rng(100 + seed)
    # blurred: every probe near the crowd's centre, within 0.6 of most raw faces, unrelated to its own
    probes = raw.mean(axis=0) + rng.normal(scale=0.005, size=raw.shape)
    result = linkage(probes, range(50), raw, range(50), own=range(50))
    assert result.self_rate > 0.5 and result.impostor_rate > 0.5  # a raw match rate alone would alarm
    assert result.verdict == "at chance"
    # the same probes nudged towards their own face: the rates barely move, the AUC and rank-1 see it
    nudged = 0.85 * probes + 0.15 * raw
    moved = linkage(nudged, range(50), raw, range(50), own=range(50))
    assert moved.verdict == "above chance" and moved.auc > 0.9
    assert moved.rank1_p < 1e-6


def test_intervals_resample_people_not_faces():
    """Ten photos of each of ten people, half of them fully linked: the interval over people is wide."""
    raw = _people(10)
    ids = np.repeat(np.arange(10), 10)
    rng = np.random.default_rng(3)
    gallery = raw[ids] + rng.normal(scale=0.01, size=(100, 128))
    linked = np.isin(ids, [0, 1, 2, 3, 4])
    probes = np.where(linked[:, None], gallery, _people(100, seed=4))
    by_person = linkage(probes, ids, gallery, ids, own=range(100))
    by_face = linkage(probes, range(100), gallery, range(100), own=range(100))
    assert by_person.self_rate == by_face.self_rate == 0.5
    width = by_person.self_interval[1] - by_person.self_interval[0]
    assert width > 0.4  # 5 of 10 people: ±0.3 or so
    assert width > 2 * (by_face.self_interval[1] - by_face.self_interval[0])  # 100 "independent" faces
    assert by_person.identities == 10 and by_person.faces == 100


def test_other_photos_mode_excludes_the_own_photo_and_sets_chance_by_the_candidates():
    raw = _people(8)
    ids = np.repeat(np.arange(8), 3)  # 8 people × 3 photos
    gallery = raw[ids] + np.random.default_rng(5).normal(scale=0.01, size=(24, 128))
    same = linkage(gallery, ids, gallery, ids, own=range(24))
    other = linkage(gallery, ids, gallery, ids, own=range(24), exclude_own=True)
    assert same.chance == pytest.approx(3 / 24)  # own photo among the candidates
    assert other.chance == pytest.approx(2 / 23)  # own photo excluded
    assert other.self_rate == 1.0 and other.rank1 == 1.0  # the person's other photos are found
    alone = linkage(gallery[:1], [99], gallery, ids)  # a person absent from the gallery: no genuine face
    assert np.isnan(alone.self_rate) and np.isnan(alone.rank1) and alone.verdict == "too few people"
    assert alone.cells()["rank-1 (chance, p)"] == "-" and alone.cells()["AUC [95 %]"] == "-"  # no "nan %"


def test_missing_probes_count_as_no_match_and_as_chance():
    raw = _people(10)
    scores = probe_scores([None] * 10, range(10), raw, range(10), own=range(10))
    assert scores.self_match.tolist() == [0.0] * 10 and scores.impostor.tolist() == [0.0] * 10
    assert scores.auc.tolist() == [0.5] * 10
    assert scores.rank1 == pytest.approx(scores.chance) and scores.chance == pytest.approx(np.full(10, 0.1))


def test_unbalanced_gallery_chance_is_the_share_of_the_persons_candidates():
    raw = _people(2)
    gallery = raw[[0, 0, 0, 1]]
    scores = probe_scores([raw[0], raw[1]], ["a", "b"], gallery, ["a", "a", "a", "b"])
    assert scores.chance.tolist() == [0.75, 0.25]
    assert scores.rank1.tolist() == [1.0, 1.0]


def test_ties_split_rank1():
    gallery = np.array([[0.0], [2.0]])
    scores = probe_scores([np.array([1.0])], [0], gallery, [0, 1])
    assert scores.rank1.tolist() == [0.5] and scores.auc.tolist() == [0.5]


def test_verdict_reads_the_auc_interval_and_the_rank1_test():
    assert verdict((0.45, 0.55), 0.3) == "at chance"
    assert verdict((0.45, 0.55), 0.01) == "above chance"  # rank-1 alone above chance
    assert verdict((0.51, 0.6), 0.3) == "above chance"  # AUC alone above 0.5
    assert verdict((0.3, 0.45), 0.9) == "below chance"
    assert verdict((float("nan"),) * 2, 0.3) == "at chance"
    assert rank1_p_value(np.zeros(50), np.full(50, 0.02)) == pytest.approx(
        1.0
    )  # no hit: nothing above chance
    assert rank1_p_value(np.array([1.0] * 3 + [0.0] * 47), np.full(50, 0.02)) < 0.1
    raw = _people(MIN_IDENTITIES - 1)
    few = linkage(raw, range(len(raw)), raw, range(len(raw)), own=range(len(raw)))
    assert few.verdict == "too few people"


def test_bad_shapes_are_refused():
    raw = _people(3)
    with pytest.raises(ValueError, match="3 faces but 2 identities"):
        linkage(raw, range(3), raw, range(2))
    with pytest.raises(ValueError, match="2 probes but 3 probe identities"):
        linkage(raw[:2], range(3), raw, range(3))
    with pytest.raises(ValueError, match="exclude_own needs own"):
        linkage(raw, range(3), raw, range(3), exclude_own=True)


def test_report_never_shows_a_match_rate_without_its_control():
    raw = _people(6)
    result = linkage(raw, range(6), raw, range(6), own=range(6), resamples=100)
    cells = result.cells()
    assert list(cells) == ["self [95 %]", "impostor [95 %]", "rank-1 (chance, p)", "AUC [95 %]", "verdict"]
    assert "vs impostor" in result.summary() and "vs chance" in result.summary()
    table = linkage_table({"raw": result})
    assert "impostor [95 %]" in table.splitlines()[0] and "(16.7 %, p " in table
    keys = {"self_rate", "impostor_rate", "rank1", "chance", "rank1_p", "auc_interval", "verdict"}
    assert set(result.as_dict()) >= keys


def test_clustered_interval_is_over_clusters():
    values = np.array([1.0] * 10 + [0.0] * 10)
    low, high = clustered_interval(values, [0] * 10 + [1] * 10, resamples=500)
    assert (low, high) == (0.0, 1.0)  # two people: either could be drawn twice
    low, high = clustered_interval(values, range(20), resamples=500)
    assert 0.2 < low < 0.5 < high < 0.8
