"""Helpers of ``bench/lmfit_suite.py`` (lmfit 1.3's own tests and examples run against paramfit).

Modules
-------
alias
    The alias package ``lmfit/`` (``import lmfit`` gives paramfit) and the pytest plugin that
    records first causes, both written into a temporary directory.
running
    The temporary tree of lmfit's tests, examples and data, and the test and example processes.
causes
    The outcome records, pytest's junit XML, and failures normalised into first causes.
report
    Totals, the cause table, the headlines and the text / markdown report.
"""

__all__ = ["alias", "causes", "report", "running"]
