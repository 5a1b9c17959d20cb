"""recanon's NumPy ByteTrack: the optimal assignment, the association rules, ids, and what it imports."""

from __future__ import annotations

import doctest
import itertools
from pathlib import Path

import numpy as np
import pytest
from recanon_sdk.detect import bytetrack, tracking
from recanon_sdk.detect.bytetrack import ByteTrack, box_iou, linear_assignment, match
from recanon_sdk.detect.tracking import PersonTracker, TrackerConfig
from recanon_sdk.types import People

from tests.conftest import python_output

ROOT = Path(__file__).resolve().parents[1]
HIGH, LOW = 0.9, 0.15


def person(x: float, y: float = 40.0, w: float = 40.0, h: float = 100.0) -> list[float]:
    return [x, y, x + w, y + h]


def run(tracker: ByteTrack, frames: list[list[tuple[list[float], float]]]) -> list[list[int]]:
    """Each frame's ids for frames given as (box, score) rows."""
    out = []
    for rows in frames:
        boxes = np.array([b for b, _ in rows], np.float64).reshape(-1, 4)
        scores = np.array([s for _, s in rows], np.float64)
        out.append(tracker.update(boxes, scores).tolist())
    return out


@pytest.mark.parametrize("module", [bytetrack, tracking], ids=lambda m: m.__name__)
def test_docstring_examples(module) -> None:
    """``recanon_sdk.detect`` is a namespace package, which tests/test_doctests.py does not walk."""
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


# -- the assignment ------------------------------------------------------------------------------


def brute_force_cost(cost: np.ndarray) -> float:
    n, m = cost.shape
    if n <= m:
        return min(sum(cost[i, p[i]] for i in range(n)) for p in itertools.permutations(range(m), n))
    return min(sum(cost[p[j], j] for j in range(m)) for p in itertools.permutations(range(n), m))


@pytest.mark.parametrize("integers", [False, True], ids=["real", "ties"])
def test_linear_assignment_is_optimal_against_brute_force(integers: bool) -> None:
    rng = np.random.default_rng(7)
    for _ in range(300):
        n, m = rng.integers(1, 6, size=2)
        cost = rng.integers(0, 4, (n, m)).astype(float) if integers else rng.normal(size=(n, m)) * 10
        rows, cols = linear_assignment(cost)
        assert len(rows) == min(n, m)
        assert len(set(rows.tolist())) == len(rows) and len(set(cols.tolist())) == len(cols)
        assert rows.tolist() == sorted(rows.tolist())
        assert cost[rows, cols].sum() == pytest.approx(brute_force_cost(cost), abs=1e-9), cost


def test_linear_assignment_edge_cases() -> None:
    for shape in [(0, 0), (0, 3), (3, 0)]:
        rows, cols = linear_assignment(np.zeros(shape))
        assert rows.size == cols.size == 0
    with pytest.raises(ValueError, match="finite"):
        linear_assignment(np.array([[np.inf, 1.0]]))
    with pytest.raises(ValueError, match="2-D"):
        linear_assignment(np.zeros(3))


def test_match_maximizes_the_margin_over_the_gate_against_brute_force() -> None:
    rng = np.random.default_rng(11)
    for _ in range(300):
        n, m = rng.integers(1, 5, size=2)
        iou = np.where(rng.random((n, m)) < 0.3, 0.0, rng.random((n, m)))
        gate = float(rng.choice([0.0, 0.2, 0.5]))
        pairs, free_rows, free_cols = match(iou, gate)
        assert all(iou[r, c] >= gate and iou[r, c] > 0 for r, c in pairs)
        assert sorted([r for r, _ in pairs] + free_rows) == list(range(n))
        assert sorted([c for _, c in pairs] + free_cols) == list(range(m))
        best = 0.0  # the best partial matching of allowed pairs, by brute force
        for k in range(min(n, m) + 1):
            for rows in itertools.combinations(range(n), k):
                for cols in itertools.permutations(range(m), k):
                    if all(iou[r, c] >= gate and iou[r, c] > 0 for r, c in zip(rows, cols, strict=True)):
                        best = max(best, sum(iou[r, c] - gate for r, c in zip(rows, cols, strict=True)))
        assert sum(iou[r, c] - gate for r, c in pairs) == pytest.approx(best, abs=1e-6)


def test_box_iou() -> None:
    a = np.array([[0.0, 0, 10, 10], [0, 0, 0, 0]])
    b = np.array([[0.0, 0, 10, 10], [10, 10, 20, 20], [0, 0, 5, 10]])
    assert box_iou(a, b).tolist() == [[1.0, 0.0, 0.5], [0.0, 0.0, 0.0]]


# -- association ---------------------------------------------------------------------------------


def test_a_person_walking_across_keeps_the_id_over_a_missed_frame() -> None:
    frames = [[(person(10 + 8 * t), HIGH)] if t != 12 else [] for t in range(30)]
    ids = run(ByteTrack(), frames)
    assert ids[0] == [-1] and ids[12] == []
    assert {i for row in ids[1:] for i in row} == {1}


def test_a_person_lost_longer_than_the_buffer_gets_a_new_id_and_the_buffer_scales_with_the_frame_rate() -> (
    None
):
    def ids_after_gap(gap: int, frame_rate: float) -> list[int]:
        frames = [[(person(100), HIGH)]] * 5 + [[]] * gap + [[(person(100), HIGH)]] * 3
        return run(ByteTrack(lost_buffer=10, frame_rate=frame_rate), frames)[-1]

    assert ids_after_gap(10, 30.0) == [1]  # re-found within 10 missed frames
    assert ids_after_gap(11, 30.0) == [2]  # forgotten, a new track
    assert ids_after_gap(20, 60.0) == [1]  # 10 frames at 30 fps are 20 at 60 fps
    assert ids_after_gap(21, 60.0) == [2]


def test_two_people_crossing_keep_distinct_ids() -> None:
    frames = []
    for t in range(40):
        a, b = person(20 + 10 * t, y=40), person(420 - 10 * t, y=44)  # they overlap around t = 20
        frames.append([(a, HIGH), (b, HIGH)])
    ids = run(ByteTrack(), frames)
    first = ids[1]
    assert sorted(first) == [1, 2]
    assert all(row == first for row in ids[1:]), ids


def test_two_people_crossing_with_the_far_one_hidden_keep_their_ids() -> None:
    """The person behind is not detected for three frames at the crossing: the motion model carries
    both tracks and the hidden one is re-found with its own id."""
    frames = []
    for t in range(40):
        a, b = person(20 + 10 * t, y=40), person(420 - 10 * t, y=44)
        frames.append([(a, HIGH)] if 19 <= t <= 21 else [(a, HIGH), (b, HIGH)])
    ids = run(ByteTrack(), frames)
    assert ids[18] == [1, 2] and ids[20] == [1]
    assert all(row == [1, 2] for row in ids[22:]), ids[22:]


def test_unconfirmed_rows_are_minus_one_until_confirm_frames() -> None:
    frames = [[(person(100), HIGH)]] * 4
    assert run(ByteTrack(confirm_frames=3), frames) == [[-1], [-1], [1], [1]]
    assert run(ByteTrack(confirm_frames=1), frames) == [[1], [1], [1], [1]]
    # an unconfirmed track that misses a frame is dropped: the count starts again
    tracker = ByteTrack(confirm_frames=2)
    assert run(tracker, [[(person(100), HIGH)], []]) == [[-1], []]
    assert tracker.tracks == []
    assert run(tracker, [[(person(100), HIGH)]] * 3) == [[-1], [1], [1]]


def test_low_confidence_detections_extend_tracks_but_never_start_one() -> None:
    alone = [[(person(100 + 3 * t), LOW)] for t in range(20)]
    assert run(ByteTrack(), alone) == [[-1]] * 20
    # a confirmed person whose score drops (partly occluded) keeps the id through the weak boxes
    frames = [[(person(100 + 3 * t), HIGH if t < 5 or t >= 15 else LOW)] for t in range(20)]
    assert run(ByteTrack(), frames)[1:] == [[1]] * 19
    # with an activation threshold above the split, a middling box extends a track but starts none
    middling = 0.4
    tracker = ByteTrack(high_threshold=0.25, activation_threshold=0.6)
    assert run(tracker, [[(person(100), middling)]] * 5) == [[-1]] * 5
    assert run(tracker, [[(person(100), HIGH)]] * 2 + [[(person(100), middling)]] * 3) == [
        [-1],
        [1],
        [1],
        [1],
        [1],
    ]
    # a weak box far from every track is not attached to one
    frames = [[(person(100 + 3 * t), HIGH)] for t in range(5)] + [
        [(person(100 + 15), HIGH), (person(400), LOW)]
    ]
    assert run(ByteTrack(), frames)[-1] == [1, -1]


def test_a_lost_track_is_not_revived_by_a_low_confidence_box() -> None:
    frames = [[(person(100), HIGH)]] * 5 + [[]] * 2 + [[(person(100), LOW)]] + [[(person(100), HIGH)]]
    ids = run(ByteTrack(), frames)
    assert ids[7] == [-1]  # the paper's second association takes only tracks tracked on the last frame
    assert ids[8] == [1]  # a high box re-finds the lost track


def test_degenerate_boxes_and_bad_input() -> None:
    tracker = ByteTrack()
    assert run(tracker, [[(person(0, w=0), HIGH)]] * 3) == [[-1]] * 3
    with pytest.raises(ValueError, match="finite"):
        tracker.update(np.array([[0, 0, np.nan, 1]]), np.array([0.9]))
    with pytest.raises(ValueError, match="scores"):
        tracker.update(np.zeros((2, 4)), np.array([0.9]))


# -- PersonTracker on ByteTrack --------------------------------------------------------------------


def test_person_tracker_restart_keeps_holds_and_continues_ids() -> None:
    tracker = PersonTracker(TrackerConfig(hold_frames=3))
    a = People(xyxy=np.array([person(10), person(200)], np.float32), score=np.array([0.9, 0.9]))
    for _ in range(3):
        tracked = tracker.update(a)
    assert sorted(tracked.track_id.tolist()) == [1, 2]
    tracker.restart()
    after = tracker.update(People(xyxy=np.array([person(400)], np.float32), score=np.array([0.9])))
    assert sorted(after.track_id[after.held].tolist()) == [1, 2]
    again = tracker.update(People(xyxy=np.array([person(400)], np.float32), score=np.array([0.9])))
    assert again.track_id[~again.held].tolist() == [3]


@pytest.mark.slow
def test_the_anonymizing_path_imports_neither_supervision_nor_scipy() -> None:
    """Anonymizer().process_frame on a frame with a person, in a fresh interpreter."""
    walking = str(ROOT / "examples" / "walking.mp4")
    code = (
        "import sys\n"
        "from recanon_sdk.anonymizer import Anonymizer\n"
        "from recanon_sdk.video.reader import VideoSource\n"
        f"frames = [f.image for _, f in zip(range(14), VideoSource({walking!r}))]\n"
        "anonymizer = Anonymizer()\n"
        "people = [anonymizer.process_frame(image)[1] for image in frames[10:14]]\n"
        "assert len(people[-1]) >= 1 and people[-1].track_id.max() >= 1, people[-1]\n"
        "loaded = {m.split('.')[0] for m in sys.modules}\n"
        "print(','.join(sorted(loaded & {'supervision', 'scipy', 'trackers'})))\n"
    )
    loaded = python_output(code)
    assert loaded == "", f"the anonymizing path loaded {loaded}"
