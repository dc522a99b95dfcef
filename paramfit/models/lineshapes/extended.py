"""The rest of lmfit 1.3's lineshapes (2-D Gaussian, Pearson IV, Breit-Wigner-Fano, DHO,
log-normal, Doniach-Sunjic, skewed Voigt, thermal distributions, decaying sine, split
Lorentzian) with their Jacobians, gathered from their family modules.

Private module; the public names are re-exported by :mod:`paramfit.models.lineshapes`.
The peak and oscillation lineshapes are in
:mod:`paramfit.models.lineshapes.extended_peaks`, the thermal distributions in
:mod:`paramfit.models.lineshapes.thermal`; importing this module registers all of them
(in that order) with :mod:`paramfit.models.lineshapes._registry`.
"""

from __future__ import annotations

from paramfit.models.lineshapes import extended_peaks, thermal
from paramfit.models.lineshapes.extended_peaks import *  # noqa: F403
from paramfit.models.lineshapes.thermal import *  # noqa: F403

__all__ = [*extended_peaks.__all__, *thermal.__all__]
