"""The one line a user reads for an ``OSError``: its advice, and the cache variable named only for
a permission refused inside the cache."""

from __future__ import annotations

import errno
from pathlib import Path

from carvana_tutorial.errors import one_line

HINT = " (or set CARVANA_CACHE to another cache folder)"


def denied(path: Path) -> PermissionError:
    return PermissionError(errno.EACCES, "Permission denied", str(path))


def test_a_refused_write_inside_the_cache_names_the_variable_that_moves_it(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    for inside in (cache, cache / "runs" / "unet" / "best.keras"):
        line = one_line(denied(inside), cache)
        assert line.startswith(f"{inside}: permission denied: ") and line.endswith(HINT)
    assert not one_line(denied(tmp_path / "cache-other" / "x"), cache).endswith(HINT)
    assert not one_line(denied(cache / "x")).endswith(HINT)  # no cache given
    full = OSError(errno.ENOSPC, "No space left on device", str(cache / "x"))
    assert one_line(full, cache) == f"{cache / 'x'}: the disk is full: free some space and rerun"
