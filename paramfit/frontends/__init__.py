"""Front ends for users of other tools: MPFIT (:mod:`.mpfit`) and R's nlsr/optimr
(:mod:`.nls`, :mod:`.optimr`)."""

__all__: list[str] = []
