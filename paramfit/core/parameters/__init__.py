"""Parameters: :class:`Parameter`, :class:`Parameters` (bounds checks, status, JSON)."""

from paramfit.core.parameters.parameter import (
    BOUNDS_TOLERANCE,
    Parameter,
    ParameterStatus,
    check_name,
)
from paramfit.core.parameters.parameters import Parameters, create_params

__all__ = ["BOUNDS_TOLERANCE", "Parameter", "ParameterStatus", "Parameters", "check_name",
           "create_params"]
