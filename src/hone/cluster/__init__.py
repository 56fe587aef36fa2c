"""Where an experiment's runs train: ``--backend local`` (this machine: this process, or
``--jobs`` processes) or ``--backend ray`` (a Ray cluster; ``pip install 'hone[ray]'``).

Ray is imported only when the ray backend is used: the default install never needs it.
"""

from hone.cluster.backend import ADDRESS_ENV, BACKENDS, Backend, parse_backend

__all__ = ["ADDRESS_ENV", "BACKENDS", "Backend", "parse_backend"]
