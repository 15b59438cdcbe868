"""Exceptions raised when an on-disk index cannot be used.

Callers catch ``NewsdeskIndexError`` to fall back to a rebuild; the subclasses say why.
"""

from __future__ import annotations


class NewsdeskIndexError(Exception):
    """Base class: the index on disk cannot be used as it is."""


class IndexMissing(NewsdeskIndexError):
    """The index directory or one of its files does not exist."""


class IndexCorrupt(NewsdeskIndexError):
    """A file is truncated, unparsable, or fails its checksum."""


class IndexVersionMismatch(NewsdeskIndexError):
    """The index was written by an incompatible format version."""
