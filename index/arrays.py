"""Small numpy helpers shared by the index modules."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

I64 = npt.NDArray[np.int64]


def concat_ranges(first: npt.ArrayLike, count: npt.ArrayLike) -> I64:
    """``first[0] .. first[0] + count[0] - 1``, then the next range, ..., as one array:
    the positions of several slices at once, so they are gathered by one fancy index."""
    first = np.asarray(first, dtype=np.int64)
    count = np.asarray(count, dtype=np.int64)
    starts = np.repeat(first - (np.cumsum(count) - count), count)
    return starts + np.arange(int(count.sum()), dtype=np.int64)
