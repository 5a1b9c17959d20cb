"""Privacy metrics: does an anonymized face still lead to its person?

* :mod:`recanon_sdk.metrics.linkage` — identity linkage from face embeddings (NumPy only): self vs
  impostor match rates, rank-1 identification vs chance, AUC, bootstrap intervals over people and a
  verdict (at / above / below chance). The embedder is passed in or computed outside.
* :mod:`recanon_sdk.metrics.faces` — YuNet face boxes and dlib's 128-d embedder (the ``eval``
  extra), and ``recanon eval``'s per-portrait identity figures.
"""

from __future__ import annotations

from recanon_sdk.metrics.linkage import DLIB_MATCH_DISTANCE, Linkage, linkage, linkage_table, verdict

__all__ = ["DLIB_MATCH_DISTANCE", "Linkage", "linkage", "linkage_table", "verdict"]
