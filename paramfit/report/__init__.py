"""Reports: text tables (:mod:`.text`, seed 000's printfuncs) and matplotlib plots (:mod:`.plots`).

Imports nothing of paramfit but the core."""

__all__: list[str] = []
