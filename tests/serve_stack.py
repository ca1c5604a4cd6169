"""`make serve`'s web shape for tests: gunicorn (sync workers) on a loopback port, nginx in front of it with
the config scripts/proxy.py generates; both in process groups of their own, stopped by their ids."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

import requests

from scripts.proxy import write_config
from tests.processes import ProcessStartError, WebServer, _Process, free_port


class Proxy(_Process):
    """nginx in the foreground (``daemon off``) with a generated config."""

    name = "nginx"
    startup_timeout = 15.0

    def __init__(self, *, port: int, upstream: str, run_dir: Path, client_timeout_seconds: int = 10) -> None:
        super().__init__({"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}, log_dir=run_dir)
        if shutil.which("nginx", path="/usr/sbin:/usr/bin") is None:
            raise ProcessStartError("nginx is not installed (apt-get install -y nginx-light)")
        self.port = port
        self.config = write_config(
            port=port, upstream=upstream, run_dir=run_dir, client_timeout_seconds=client_timeout_seconds
        )

    def command(self) -> list[str]:
        return ["nginx", "-p", str(self.config.parent), "-c", str(self.config)]

    def ready(self) -> bool:
        try:
            return requests.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1).status_code == 200
        except requests.RequestException:
            return False


class ServeStack:
    """gunicorn behind nginx, as `make serve` runs them; ``base_url`` is the proxy's."""

    def __init__(self, env: Mapping[str, str], *, workers: int = 2, client_timeout_seconds: int = 10) -> None:
        self.run_dir = Path(tempfile.mkdtemp(prefix="orma-serve-"))
        self.web = WebServer({**env, "ORMA_TRUSTED_PROXIES": "127.0.0.1"}, workers=workers, log_dir=self.run_dir)
        self.port = free_port()
        self.proxy = Proxy(
            port=self.port,
            upstream=f"127.0.0.1:{self.web.port}",
            run_dir=self.run_dir,
            client_timeout_seconds=client_timeout_seconds,
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.web.start()
        self.proxy.start()

    def stop(self) -> None:
        self.proxy.stop()
        self.web.stop()

    def __enter__(self) -> ServeStack:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.run_dir, ignore_errors=True)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
