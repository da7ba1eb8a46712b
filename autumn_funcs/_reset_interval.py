"""`ResetInterval`: the closed set of reset periods, shared by create and update."""

from enum import Enum
from typing import Literal, TypeAlias


class ResetInterval(str, Enum):
    """How often a balance returns to its granted amount (plain strings work too)."""

    ONE_OFF = "one_off"
    MINUTE = "minute"
    HOUR = "hour"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"
    SEMI_ANNUAL = "semi_annual"
    YEAR = "year"


# The same set as plain strings, for the params TypedDicts: `{"interval": "month"}`
# type-checks, `{"interval": "monthly"}` does not. tests/sdk/test_params_dicts.py
# checks that it lists exactly the enum's values.
ResetIntervalValue: TypeAlias = Literal[
    "one_off", "minute", "hour", "day", "week", "month", "quarter", "semi_annual", "year"
]
