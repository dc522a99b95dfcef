"""Finite-difference Jacobians: for the iteration (:mod:`.finite_differences`) and
accurate ones at a solution (:mod:`.solution`)."""

__all__: list[str] = []
