"""numba's ``njit`` when numba is installed, else a decorator that leaves functions as they
are, so the compiled parts of the index (top-k kernels, the build's per-word passes) have
one import and one switch (``AVAILABLE``) for their plain-Python fallbacks."""

from __future__ import annotations

from typing import Any

try:
    from numba import njit

    AVAILABLE = True
except ImportError:  # pragma: no cover - numba is a dependency; this keeps a clear fallback
    AVAILABLE = False

    def njit(*args: Any, **kwargs: Any) -> Any:  # type: ignore[no-redef]
        def wrap(fn: Any) -> Any:
            return fn

        return wrap


__all__ = ["AVAILABLE", "njit"]
