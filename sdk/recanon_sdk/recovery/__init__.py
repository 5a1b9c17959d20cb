"""The parts of authorized recovery behind :class:`recanon_sdk.recoverer.Recoverer`.

* :mod:`.selection` — who and when (``Selection``);
* :mod:`.checks` — everything checked before the audit entry: signatures, names, sealed originals,
  the selection; the verified files stay pinned (:mod:`recanon_sdk.pinned`) for the recovery;
* :mod:`.restore` — the frame loop: the selected regions back, never where someone else's region
  overlaps, failed-closed frames only when nobody in particular is selected;
* :mod:`.outputs` — the recovered video and stills, private (0600) under hidden names, all
  committed or none.
"""
