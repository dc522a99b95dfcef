"""Reference data and runners: the NIST StRD non-linear regression problems."""

__all__: list[str] = []
