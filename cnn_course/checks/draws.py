"""The arguments a check gives an exercise are drawn when it runs, from one seed per grading run.

No table of answers exists for an exercise to look up: each check draws its arguments from
`generator(exercise)` and computes the expected values itself. A run's seed is drawn once per
process unless it is set (`set_run_seed`, which the grading plugin calls with `--check-seed`, or
the variable CNN_COURSE_CHECK_SEED), so a run can be repeated exactly with the seed its log names.
"""

from __future__ import annotations

import os
import secrets
import zlib

import numpy as np

SEED_VARIABLE = "CNN_COURSE_CHECK_SEED"
_seed: list[int] = []  # the run's seed, once drawn or set


def parse_seed(text: str) -> int:
    """Return the seed written in `text` (a whole number from 0 to 2**32 - 1); ValueError says what is accepted."""
    try:
        seed = int(text.strip())
    except ValueError:
        seed = -1
    if not 0 <= seed < 2**32:
        raise ValueError(f"a check seed is a whole number from 0 to {2**32 - 1}, not {text!r}")
    return seed


def run_seed() -> int:
    """Return this run's seed: the one set, else $CNN_COURSE_CHECK_SEED, else one drawn now (and kept).

    Raises ValueError when CNN_COURSE_CHECK_SEED holds something other than a seed.
    """
    if not _seed:
        written = os.environ.get(SEED_VARIABLE, "").strip()
        _seed.append(parse_seed(written) if written else secrets.randbelow(2**32))
    return _seed[0]


def set_run_seed(seed: int | None) -> int:
    """Use `seed` for the checks of this run (None: $CNN_COURSE_CHECK_SEED or a fresh one); return the seed in use."""
    _seed.clear()
    if seed is not None:
        _seed.append(parse_seed(str(seed)))
    return run_seed()


def generator(exercise: str) -> np.random.Generator:
    """Return the random generator of `exercise`'s check: the same within a run, another in the next run."""
    return np.random.default_rng([run_seed(), zlib.crc32(exercise.encode())])
