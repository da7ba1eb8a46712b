"""How many examples a property test tries.

A mutation run (mutmut sets MUTANT_UNDER_TEST, empty for its run of the unmutated
tests) runs each test once per mutant it reaches: there a property test tries a
quarter of its examples, which still finds a mutant of the code it checks within
its first few, and the run fits in hours instead of days."""

from __future__ import annotations

import os


def examples(usual: int) -> int:
    if "MUTANT_UNDER_TEST" in os.environ:
        return max(10, usual // 4)
    return usual
