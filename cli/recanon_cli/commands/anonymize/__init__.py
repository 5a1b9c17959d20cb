"""``recanon anonymize``: one video, image, folder of stills or stream; or a batch of many files.

``anonymize`` is the Typer command (:mod:`.command`); options are declared in :mod:`.options`, the
single-source run is :mod:`.single`, the batch :mod:`.batch`.
"""

from __future__ import annotations

from recanon_cli.commands.anonymize.command import anonymize
from recanon_cli.commands.anonymize.options import Backend, Engine, EnhancerName

__all__ = ["Backend", "Engine", "EnhancerName", "anonymize"]
