"""`ResetInterval`: the closed set of reset periods, shared by create and update."""

from enum import Enum


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
