"""``paramfit batch`` (the batch command of the CLI): names in the CSV, ``--method``."""

from __future__ import annotations

import numpy as np
import pytest

from paramfit.cli.app import main
from paramfit.models.lineshapes import gaussian


def _rows(tmp_path):
    x = np.linspace(0.0, 10.0, 60)
    rows = [x] + [gaussian(x, a, c, 1.0) for a, c in [(1, 4), (2, 5), (3, 6)]]
    rows[2] = rows[2].copy()
    rows[2][7] = np.nan                       # the second dataset cannot be fitted
    path = tmp_path / "rows.csv"
    np.savetxt(path, np.array(rows), delimiter=",")
    return path


def test_batch_csv_writes_statuses_terminations_and_reasons_as_names(capsys, tmp_path):
    pd = pytest.importorskip("pandas")
    out = tmp_path / "r.csv"
    code = main(["batch", str(_rows(tmp_path)), "-m", "gaussian", "--out", str(out)])
    capsys.readouterr()
    assert code == 1                          # one dataset did not converge
    frame = pd.read_csv(out, keep_default_na=False)
    assert frame["termination"][1] == "IMPROPER_INPUT"
    assert "improper" in frame["reason"][1]
    assert frame["reason"][0] == frame["reason"][2] == ""
    assert set(frame["termination"][[0, 2]]) <= {"FTOL", "XTOL", "BOTH", "GTOL"}
    assert frame["g1_center_status"][0] == "free"


def test_batch_method_other_than_leastsq_is_refused(capsys, tmp_path):
    code = main(["batch", str(_rows(tmp_path)), "-m", "gaussian", "--method", "nelder",
                 "--out", str(tmp_path / "r.csv")])
    err = capsys.readouterr().err
    assert code == 2 and "--method nelder is not available" in err
    assert not (tmp_path / "r.csv").exists()
