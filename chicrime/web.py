"""`chicrime serve`: the dashboard on gunicorn, a production WSGI server with several workers.

Each worker builds its own app after the fork (no `preload`), so no DuckDB connection is ever
shared between processes; results are shared through the on-disk cache instead. The master
process only supervises: it never imports the app (Dash, polars, DuckDB), which keeps ~70 MB
out of it — except with LAKE_URL, when it also runs the host's one follower of the store
(`chicrime.remote.follow`, which imports the store's modules, polars and DuckDB among them:
~80 MB more).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gunicorn.app.base import BaseApplication

from chicrime.settings import Settings

if TYPE_CHECKING:
    from flask import Flask

__all__ = ["serve"]


class _Dashboard(BaseApplication):  # type: ignore[misc]
    def __init__(self, settings: Settings, options: dict[str, Any]) -> None:
        self.settings = settings
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        from chicrime.app import create_app  # in the worker, after the fork

        server: Flask = create_app(self.settings).server
        return server


def serve(settings: Settings, host: str, port: int, workers: int, threads: int) -> None:
    """Serve until stopped (SIGTERM/SIGINT). Binding errors are reported by gunicorn and exit."""
    _Dashboard(
        settings,
        {
            "bind": f"{host}:{port}",
            "workers": workers,
            "threads": threads,
            "worker_class": "gthread",
            "timeout": 120,
            # Keep idle connections open as long as a browser or proxy reuses them (gunicorn's
            # default, 2 s, closes some just as a client sends on them: a reset request).
            "keepalive": 75,
            "control_socket_disable": True,
            "accesslog": "-",
            "errorlog": "-",
            "loglevel": settings.log_level.lower(),
            "proc_name": "chicrime-web",
        },
    ).run()
