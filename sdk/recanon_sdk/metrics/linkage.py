"""Identity linkage: does an anonymized face still lead to its person, beyond what chance gives?

A face embedder (dlib's 128-d network, :mod:`recanon_sdk.metrics.faces`, or any other) maps each
anonymized face — the *probe* — and each raw face — the *gallery* — to a vector. A raw match rate
("12.8 % of blurred faces lie within 0.6 of their own raw face") means nothing alone: a rendering
that makes every face look alike to the embedder sits near *everyone*. So every figure here comes
with its control, and with a 95 % interval from a bootstrap over identities (people), not faces:

* **self** — the share of a probe's *genuine* raw faces (its own raw photo, or its person's other
  photos) within the threshold; **impostor** — the share of other people's raw faces within it.
  Identity shows only as self above impostor.
* **rank-1** — how often the gallery face nearest to the probe is of the probe's person, against
  its **chance** level: the share of the candidates that are of that person (1 / identities for a
  gallery with one face per identity); **p** — the probability of as many rank-1 hits or more if
  every probe guessed at its chance level (exact, Poisson-binomial). A bootstrap interval alone
  cannot tell rank-1 from chance: at 1/50 most resamples of a no-identity set hold no hit at all.
* **AUC** — the probability that a probe is nearer a genuine raw face than an impostor's, per
  probe (ties ½), averaged: 0.5 = no identity, 1.0 = fully identifying.
* **verdict** — ``"above chance"`` when the AUC interval lies above 0.5 or rank-1's p is under
  :data:`RANK1_ALPHA`; ``"below chance"`` when the AUC interval lies below 0.5; else ``"at
  chance"``; ``"too few people"`` under :data:`MIN_IDENTITIES`. On embeddings that know nobody it
  says "at chance" about 19 times in 20 (``tests/test_linkage.py`` measures it).

NumPy only: embeddings are computed outside and passed in.

>>> rng = np.random.default_rng(0)
>>> raw = rng.normal(size=(30, 8))
>>> ids = list(range(30))                       # 30 photos, each its own person
>>> linkage(raw, ids, raw, ids, own=range(30)).verdict     # the raw faces themselves
'above chance'
>>> blurred = rng.normal(size=(30, 8))            # embeddings that know nobody
>>> result = linkage(blurred, ids, raw, ids, own=range(30))
>>> result.verdict, result.chance == 1 / 30
('at chance', True)
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "DLIB_MATCH_DISTANCE",
    "MIN_IDENTITIES",
    "RANK1_ALPHA",
    "Linkage",
    "ProbeScores",
    "clustered_interval",
    "identity_verification",
    "linkage",
    "linkage_table",
    "probe_scores",
    "rank1_p_value",
    "verdict",
]

#: dlib's standard face-verification threshold on its 128-d embeddings (Euclidean distance).
DLIB_MATCH_DISTANCE = 0.6
#: Fewer probe identities than this give no verdict: a bootstrap over 2–4 people says little.
MIN_IDENTITIES = 5
#: One-sided level of the rank-1 test (with the AUC's 95 % interval: about 5 % false alarms).
RANK1_ALPHA = 0.025


@dataclass(frozen=True)
class ProbeScores:
    """Each probe's scores (see the module docstring); NaN where a probe adds nothing to a score
    (no genuine raw face left to find, or no impostor). A missing probe (the embedder gave none)
    scores self 0, impostor 0, AUC ½ and rank-1 at its chance."""

    self_match: np.ndarray
    impostor: np.ndarray
    auc: np.ndarray
    rank1: np.ndarray
    chance: np.ndarray


def probe_scores(
    probes: Sequence[np.ndarray | None] | np.ndarray,
    probe_ids: Sequence[Hashable],
    gallery: Sequence[np.ndarray] | np.ndarray,
    gallery_ids: Sequence[Hashable],
    *,
    own: Iterable[int | None] | None = None,
    exclude_own: bool = False,
    threshold: float = DLIB_MATCH_DISTANCE,
) -> ProbeScores:
    """Per-probe self, impostor, AUC, rank-1 and chance against a gallery of raw embeddings.

    ``own[i]``: the index in ``gallery`` of probe ``i``'s own raw face (``None``: not in it). The
    genuine faces of a probe are its own raw face; with ``exclude_own`` (re-identification: does
    the anonymized face find the person's *other* photos?) they are its person's other gallery
    faces, and its own is no candidate at all. Without ``own`` they are all gallery faces of its
    person. Impostors: gallery faces of other identities. Rank-1 looks at every candidate.

    >>> g = np.array([[0.0], [1.0], [5.0]])
    >>> s = probe_scores([np.array([0.2]), np.array([4.0]), None], [0, 1, 2], g, [0, 1, 2], own=[0, 1, 2])
    >>> s.self_match.tolist(), s.impostor.tolist(), s.rank1.tolist()
    ([1.0, 0.0, 0.0], [0.0, 0.0, 0.0], [1.0, 0.0, 0.3333333333333333])
    >>> s.auc.tolist()
    [1.0, 0.5, 0.5]
    """
    references = np.asarray(gallery, dtype=np.float64).reshape(len(gallery), -1)
    gallery_labels, labels = _labels(gallery_ids, probe_ids)  # one numbering for both
    if len(gallery_labels) != len(references):
        raise ValueError(f"gallery has {len(references)} faces but {len(gallery_labels)} identities")
    if len(labels) != len(probes):
        raise ValueError(f"{len(probes)} probes but {len(labels)} probe identities")
    owners = [None] * len(labels) if own is None else list(own)
    if len(owners) != len(labels):
        raise ValueError(f"{len(probes)} probes but {len(owners)} own-face indices")
    if exclude_own and own is None:
        raise ValueError("exclude_own needs own: which gallery face is each probe's own")
    n = len(labels)
    scores = {k: np.full(n, np.nan) for k in ("self_match", "impostor", "auc", "rank1", "chance")}
    index = np.arange(len(references))
    for i, probe in enumerate(probes):
        mine = gallery_labels == labels[i]
        candidates = np.ones(len(references), bool)
        if owners[i] is not None and exclude_own:
            candidates[owners[i]] = False
        # genuine: the probe's own raw face, or (without one, or excluding it) its person's others
        genuine = mine & candidates if owners[i] is None or exclude_own else index == owners[i]
        impostors = ~mine
        if (mine & candidates).any():
            scores["chance"][i] = (mine & candidates).sum() / candidates.sum()
        if probe is None:
            scores["self_match"][i] = 0.0 if genuine.any() else np.nan
            scores["impostor"][i] = 0.0 if impostors.any() else np.nan
            scores["auc"][i] = 0.5 if genuine.any() and impostors.any() else np.nan
            scores["rank1"][i] = scores["chance"][i]
            continue
        distance = np.linalg.norm(references - np.asarray(probe, np.float64).reshape(1, -1), axis=1)
        if genuine.any():
            scores["self_match"][i] = np.mean(distance[genuine] < threshold)
        if impostors.any():
            scores["impostor"][i] = np.mean(distance[impostors] < threshold)
        if genuine.any() and impostors.any():
            near, far = distance[genuine][:, None], distance[impostors][None, :]
            scores["auc"][i] = np.mean(near < far) + 0.5 * np.mean(near == far)
        if (mine & candidates).any():
            nearest = candidates & (distance == distance[candidates].min())
            scores["rank1"][i] = (nearest & mine).sum() / nearest.sum()  # ties split evenly
    return ProbeScores(**scores)


@dataclass(frozen=True)
class Linkage:
    """The linkage figures of one set of probes, each with its 95 % interval over identities."""

    faces: int  # probes
    identities: int  # people among the probes (the bootstrap's clusters)
    gallery_faces: int
    gallery_identities: int
    self_rate: float
    self_interval: tuple[float, float]
    impostor_rate: float
    impostor_interval: tuple[float, float]
    rank1: float
    rank1_interval: tuple[float, float]
    chance: float
    rank1_p: float  # P(as many rank-1 hits or more | every probe guesses at its chance)
    auc: float
    auc_interval: tuple[float, float]
    verdict: str
    threshold: float = DLIB_MATCH_DISTANCE

    def as_dict(self) -> dict[str, Any]:
        """The figures as JSON-ready numbers (intervals as ``[low, high]``).

        >>> r = linkage(np.eye(6), range(6), np.eye(6), range(6), own=range(6), resamples=50)
        >>> d = r.as_dict(); d["self_rate"], d["rank1"], d["auc_interval"], d["verdict"]
        (1.0, 1.0, [1.0, 1.0], 'above chance')
        """
        out: dict[str, Any] = {}
        for key, value in self.__dict__.items():
            out[key] = [float(v) for v in value] if isinstance(value, tuple) else value
        return out

    def cells(self) -> dict[str, str]:
        """The table cells: self vs impostor, rank-1 vs chance, AUC, each with its interval.

        >>> r = linkage(np.eye(6), range(6), np.eye(6), range(6), own=range(6), resamples=50)
        >>> r.cells()["rank-1 (chance, p)"], r.cells()["AUC [95 %]"]
        ('100.0 % [100.0, 100.0] (16.7 %, p 2.1e-05)', '1.00 [1.00, 1.00]')
        """
        rank1 = _percent(self.rank1, self.rank1_interval)
        auc = "-"
        if np.isfinite(self.auc):
            auc = f"{self.auc:.2f} [{self.auc_interval[0]:.2f}, {self.auc_interval[1]:.2f}]"
        return {
            "self [95 %]": _percent(self.self_rate, self.self_interval),
            "impostor [95 %]": _percent(self.impostor_rate, self.impostor_interval),
            "rank-1 (chance, p)": rank1
            if not np.isfinite(self.chance)
            else f"{rank1} ({100 * self.chance:.1f} %, p {_p(self.rank1_p)})",
            "AUC [95 %]": auc,
            "verdict": self.verdict,
        }

    def summary(self) -> str:
        """One line: every figure beside its control.

        >>> r = linkage(np.eye(6), range(6), np.eye(6), range(6), own=range(6), resamples=50)
        >>> print(r.summary().replace("; ", ";\\n"))
        6 faces of 6 people: self 100.0 % [100.0, 100.0] vs impostor 0.0 % [0.0, 0.0];
        rank-1 100.0 % [100.0, 100.0] vs chance 16.7 % (p 2.1e-05);
        AUC 1.00 [1.00, 1.00]: above chance
        """
        c = self.cells()
        return (
            f"{self.faces} faces of {self.identities} people: self {c['self [95 %]']} vs impostor "
            f"{c['impostor [95 %]']}; rank-1 {_percent(self.rank1, self.rank1_interval)} vs chance "
            f"{100 * self.chance:.1f} % (p {_p(self.rank1_p)}); AUC {c['AUC [95 %]']}: {self.verdict}"
        )


def linkage(
    probes: Sequence[np.ndarray | None] | np.ndarray,
    probe_ids: Sequence[Hashable],
    gallery: Sequence[np.ndarray] | np.ndarray,
    gallery_ids: Sequence[Hashable],
    *,
    own: Iterable[int | None] | None = None,
    exclude_own: bool = False,
    threshold: float = DLIB_MATCH_DISTANCE,
    resamples: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> Linkage:
    """Self vs impostor, rank-1 vs chance and AUC of ``probes`` against ``gallery``, with intervals
    from ``resamples`` bootstrap draws of the probes' identities (every probe of a drawn person).

    Arguments as :func:`probe_scores`. For photos without identity labels, give each face its own
    identity and ``own`` its raw face: the same photo's raw face is then the only genuine one.

    >>> people = np.random.default_rng(1).normal(size=(40, 16))
    >>> ids = np.repeat(np.arange(10), 4)           # 10 people, 4 photos each
    >>> r = linkage(people[ids], ids, people[ids], ids, own=range(40), exclude_own=True)
    >>> r.self_rate, r.impostor_rate, r.rank1, round(r.chance, 3), r.verdict
    (1.0, 0.0, 1.0, 0.077, 'above chance')
    """
    scores = probe_scores(
        probes, probe_ids, gallery, gallery_ids, own=own, exclude_own=exclude_own, threshold=threshold
    )
    (clusters,) = _labels(probe_ids)
    draws = _cluster_draws(clusters, resamples, seed)

    def interval(values: np.ndarray) -> tuple[float, float]:
        return _bootstrap(values, clusters, draws, level)

    people = len(np.unique(clusters))
    auc_interval, p = interval(scores.auc), rank1_p_value(scores.rank1, scores.chance)
    return Linkage(
        faces=len(clusters),
        identities=people,
        gallery_faces=len(gallery),
        gallery_identities=len(np.unique(_labels(gallery_ids)[0])),
        self_rate=_nanmean(scores.self_match),
        self_interval=interval(scores.self_match),
        impostor_rate=_nanmean(scores.impostor),
        impostor_interval=interval(scores.impostor),
        rank1=_nanmean(scores.rank1),
        rank1_interval=interval(scores.rank1),
        chance=_nanmean(scores.chance),
        rank1_p=p,
        auc=_nanmean(scores.auc),
        auc_interval=auc_interval,
        verdict=verdict(auc_interval, p) if people >= MIN_IDENTITIES else "too few people",
        threshold=threshold,
    )


def verdict(auc_interval: Sequence[float], rank1_p: float) -> str:
    """``"above chance"`` if the AUC interval lies above 0.5 or ``rank1_p`` < :data:`RANK1_ALPHA`;
    ``"below chance"`` if the AUC interval lies below 0.5; ``"at chance"`` otherwise; ``"not
    measured"`` if neither could be computed (NaN).

    >>> verdict((0.45, 0.56), 0.4), verdict((0.52, 0.61), 0.4), verdict((0.45, 0.56), 0.001)
    ('at chance', 'above chance', 'above chance')
    >>> verdict((0.30, 0.45), 0.9), verdict((float("nan"),) * 2, float("nan"))
    ('below chance', 'not measured')
    """
    low, high = auc_interval
    auc_known = bool(np.isfinite(low) and np.isfinite(high))
    if not auc_known and not np.isfinite(rank1_p):
        return "not measured"
    if (auc_known and low > 0.5) or rank1_p < RANK1_ALPHA:
        return "above chance"
    if auc_known and high < 0.5:
        return "below chance"
    return "at chance"


def rank1_p_value(rank1: np.ndarray, chance: np.ndarray) -> float:
    """P(hits ≥ the observed rank-1 hits) if each probe hit with its own ``chance``
    (Poisson-binomial, exact); probes without a chance (NaN) or scored at their chance (a missing
    probe) are left out, a tie's split hit rounds down.

    >>> round(rank1_p_value(np.array([1.0, 0, 0, 0]), np.full(4, 0.25)), 4)   # 1 - 0.75 ** 4
    0.6836
    >>> rank1_p_value(np.ones(10), np.full(10, 0.1)) < 1e-9
    True
    """
    used = np.isfinite(rank1) & np.isfinite(chance) & ~((rank1 == chance) & (rank1 % 1 != 0))
    if not used.any():
        return float("nan")
    hits = int(np.floor(rank1[used].sum() + 1e-9))
    counts = np.zeros(int(used.sum()) + 1)
    counts[0] = 1.0
    for p in chance[used]:  # the distribution of the number of hits, one probe at a time
        counts[1:] = counts[1:] * (1 - p) + counts[:-1] * p
        counts[0] *= 1 - p
    return float(min(1.0, counts[hits:].sum()))


def linkage_table(rows: Mapping[str, Linkage], extra: Mapping[str, Mapping[str, str]] | None = None) -> str:
    """A fixed-width text table, one row per name: ``extra`` columns first (e.g. faces left to a
    face detector), then :meth:`Linkage.cells`.

    >>> r = linkage(np.eye(6), range(6), np.eye(6), range(6), own=range(6), resamples=50)
    >>> table = linkage_table({"raw": r}, {"raw": {"faces": "6"}}).splitlines()
    >>> [line.split()[:4] for line in table]
    [['method', 'faces', 'self', '[95'], ['raw', '6', '100.0', '%']]
    >>> table[1].endswith("(16.7 %, p 2.1e-05)  1.00 [1.00, 1.00]  above chance")
    True
    """
    table = [{"method": name, **(extra or {}).get(name, {}), **row.cells()} for name, row in rows.items()]
    headers = list(dict.fromkeys(key for row in table for key in row))
    widths = {h: max(len(h), *(len(row.get(h, "")) for row in table)) for h in headers}
    lines = ["  ".join(h.ljust(widths[h]) for h in headers).rstrip()]
    lines += ["  ".join(row.get(h, "").ljust(widths[h]) for h in headers).rstrip() for row in table]
    return "\n".join(lines)


def clustered_interval(
    values: np.ndarray,
    clusters: Sequence[Hashable],
    level: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> tuple[float, float]:
    """A percentile-bootstrap interval for the mean of ``values`` (NaN ignored), resampling whole
    ``clusters`` (people: one person's photos are not independent of each other).

    >>> low, high = clustered_interval(np.array([0.0, 0, 1, 1, 0, 1]), [0, 0, 1, 1, 2, 2])
    >>> 0.0 <= low < 0.5 < high <= 1.0
    True
    """
    (labels,) = _labels(clusters)
    return _bootstrap(np.asarray(values, float), labels, _cluster_draws(labels, resamples, seed), level)


def identity_verification(
    references: Sequence[np.ndarray],
    identities: Sequence[Hashable],
    probes: Sequence[np.ndarray | None],
    *,
    same_photo: bool = True,
) -> tuple[float, float, float]:
    """(self, impostor, AUC) of ``probes[i]`` against ``references[i]``, its own raw face (with
    ``same_photo=False``: its person's other raw faces): :func:`probe_scores` averaged, without
    intervals or rank-1 — :func:`linkage` gives those.

    >>> refs = [np.zeros(2), np.ones(2), np.full(2, 2.0)]
    >>> identity_verification(refs, [0, 1, 1], [np.full(2, 0.1), np.full(2, 1.9), None])
    (0.3333333333333333, 0.0, 0.8333333333333334)
    """
    s = probe_scores(
        probes, identities, references, identities, own=range(len(probes)), exclude_own=not same_photo
    )
    return _nanmean(s.self_match), _nanmean(s.impostor), _nanmean(s.auc)


def _labels(*groups: Iterable[Hashable]) -> list[np.ndarray]:
    """Identity labels (any hashables: ints, names, (photo, face) pairs) as integer arrays, one
    numbering shared by all ``groups``, so that labels compare across them.

    >>> [a.tolist() for a in _labels([7, 3, 7], [3, "x"])]
    [[0, 1, 0], [1, 2]]
    """
    seen: dict[Hashable, int] = {}
    return [
        np.array(
            [seen.setdefault(v.item() if isinstance(v, np.generic) else v, len(seen)) for v in ids],
            dtype=np.int64,
        )
        for ids in groups
    ]


def _cluster_draws(clusters: np.ndarray, resamples: int, seed: int) -> np.ndarray:
    """``(resamples, people)`` indices into the unique clusters, drawn with replacement."""
    people = len(np.unique(clusters))
    return np.random.default_rng(seed).integers(0, max(people, 1), size=(resamples, people))


def _bootstrap(
    values: np.ndarray, clusters: np.ndarray, draws: np.ndarray, level: float
) -> tuple[float, float]:
    """Percentile interval of the mean of ``values`` (NaN ignored) over cluster ``draws``."""
    names = np.unique(clusters)
    if not len(names) or not len(draws):
        return (float("nan"), float("nan"))
    kept = ~np.isnan(values)
    position = np.searchsorted(names, clusters)
    sums = np.bincount(position, weights=np.where(kept, values, 0.0), minlength=len(names))
    counts = np.bincount(position, weights=kept.astype(float), minlength=len(names))
    total = counts[draws].sum(axis=1)
    means = sums[draws].sum(axis=1)[total > 0] / total[total > 0]
    if not len(means):
        return (float("nan"), float("nan"))
    tail = (1 - level) / 2
    return float(np.quantile(means, tail)), float(np.quantile(means, 1 - tail))


def _nanmean(values: np.ndarray) -> float:
    """The mean of the non-NaN values, NaN (without numpy's warning) when there are none."""
    kept = values[~np.isnan(values)]
    return float(kept.mean()) if kept.size else float("nan")


def _percent(value: float, interval: Sequence[float]) -> str:
    if not np.isfinite(value):
        return "-"
    return f"{100 * value:.1f} % [{100 * interval[0]:.1f}, {100 * interval[1]:.1f}]"


def _p(value: float) -> str:
    return "-" if not np.isfinite(value) else f"{value:.2g}"
