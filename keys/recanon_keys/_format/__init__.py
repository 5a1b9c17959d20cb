"""Byte-level formats (private). The public recipe lives in ``recanon_keys``; see docs/key-formats.md."""
