"""The routing core: a `Problem` and travel matrices in, a `Plan` out. Pure; no I/O."""

from optimizer.model import (
    DAY_SECONDS,
    UNREACHABLE,
    Agent,
    BorrowerRule,
    Break,
    Crew,
    Location,
    Problem,
    Team,
    TimeWindow,
    TravelMatrix,
    TravelMode,
    Visit,
    VisitKind,
)
from optimizer.plan import BreakTaken, Plan, ReasonCode, Route, Stop, Unassigned
from optimizer.solver import SolverTimeoutError, solve

__all__ = [
    "DAY_SECONDS",
    "UNREACHABLE",
    "Agent",
    "BorrowerRule",
    "Break",
    "BreakTaken",
    "Crew",
    "Location",
    "Plan",
    "Problem",
    "ReasonCode",
    "Route",
    "SolverTimeoutError",
    "Stop",
    "Team",
    "TimeWindow",
    "TravelMatrix",
    "TravelMode",
    "Unassigned",
    "Visit",
    "VisitKind",
    "solve",
]
