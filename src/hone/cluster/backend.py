"""``--backend local|ray`` and ``--address``, checked before an experiment is planned."""

from __future__ import annotations

import logging
import os
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass
from types import ModuleType

from hone.errors import ConfigError, install_hint

__all__ = ["ADDRESS_ENV", "BACKENDS", "Backend", "parse_backend"]

BACKENDS = ("local", "ray")
ADDRESS_ENV = "HONE_RAY_ADDRESS"  # the cluster --address defaults to


@dataclass(frozen=True)
class Backend:
    """``name`` is local or ray; ``address`` (ray only) is ``auto`` (a cluster already running
    on this machine, else a new local one), ``HOST:PORT`` or ``ray://HOST:PORT``."""

    name: str = "local"
    address: str = "auto"

    @property
    def is_ray(self) -> bool:
        return self.name == "ray"

    @contextmanager
    def session(self) -> Iterator[ModuleType]:
        """Ray, connected (once per process), for a block in which Ray's own notices (a
        worker that died and is retried) go to stderr: Ray prints them on stdout, which
        belongs to hone's results (``--json``)."""
        ray = self._connect()
        with redirect_stdout(sys.stderr):
            yield ray

    def reachable(self) -> None:
        """Refuse an address nothing listens on at once: Ray itself retries it for minutes."""
        where = _split_address(self.address)
        if where is None:
            return
        try:
            socket.create_connection(where, timeout=PROBE_SECONDS).close()
        except OSError as exc:
            raise ConfigError(
                f"--address: nothing answers at {self.address} ({exc.strerror or exc}); start "
                "the cluster with `ray start --head --port PORT`, or give its HOST:PORT"
            ) from None

    def _connect(self) -> ModuleType:
        """The ``ray`` module, connected to the cluster (once per process)."""
        try:
            import ray
        except ImportError:
            raise ConfigError(
                f"--backend ray needs Ray, which is not installed: {install_hint('ray')}"
            ) from None
        if not ray.is_initialized():
            # Ray says on stderr that a new local cluster uses token authentication (its
            # default); that line would land in the middle of hone's output.
            logging.getLogger("ray._private.authentication").setLevel(logging.ERROR)
            try:
                ray.init(
                    address=None if self.address == "auto" else self.address,
                    log_to_driver=False,  # workers' output would break the progress display
                    include_dashboard=False,
                    configure_logging=False,
                )
            except (ConnectionError, ValueError, RuntimeError) as exc:
                raise ConfigError(
                    f"--address: cannot reach a Ray cluster at {self.address!r} "
                    f"({str(exc).splitlines()[0][:200]}); start one with `ray start --head` "
                    "or give its HOST:PORT"
                ) from None
        return ray


PROBE_SECONDS = 5.0


def _split_address(address: str) -> tuple[str, int] | None:
    """``HOST:PORT`` (or ``ray://HOST:PORT``) as a pair; None for ``auto`` or no port."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    return (host.strip("[]"), int(port)) if host and port.isdigit() else None


def parse_backend(name: str, address: str | None = None) -> Backend:
    """``--backend`` and ``--address`` (default ``$HONE_RAY_ADDRESS``, else ``auto``); an
    address nothing answers at is refused here, before an experiment is planned."""
    if name not in BACKENDS:
        raise ConfigError(f"--backend: '{name}' is not a backend; use one of: local, ray")
    if name == "local":
        if address:
            raise ConfigError("--address: only with --backend ray")
        return Backend()
    backend = Backend("ray", address or os.environ.get(ADDRESS_ENV) or "auto")
    backend.reachable()
    return backend
