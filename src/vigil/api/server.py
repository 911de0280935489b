"""Running the service: uvicorn, in one process or several.

With several workers, each process listens on its own socket bound with
SO_REUSEPORT, so that the kernel spreads new connections evenly over the
workers. (With one shared socket, as uvicorn's own ``--workers`` does, the
worker that happens to be awake accepts a whole burst of connections and keeps
them: one core saturates while the other idles.)
"""

from __future__ import annotations

import multiprocessing
import signal
import socket
import time
from types import FrameType

import uvicorn

APP = "vigil.api.app:create_app"


class ServeError(RuntimeError):
    """The service cannot start (the address cannot be listened on)."""


def serve(host: str, port: int, workers: int, log_level: str, tls: tuple[str, str] | None = None) -> None:
    """Serve on ``host:port``; with ``tls`` (certificate file, key file), over HTTPS."""
    if workers == 1 or not hasattr(socket, "SO_REUSEPORT"):
        uvicorn.run(APP, factory=True, host=host, port=port, workers=workers, log_level=log_level, **_tls(tls))
        return
    Supervisor(host, port, workers, log_level, tls).run()


def _tls(tls: tuple[str, str] | None) -> dict[str, str]:
    return {"ssl_certfile": tls[0], "ssl_keyfile": tls[1]} if tls else {}


def _listening_socket(host: str, port: int, shared: bool = True) -> socket.socket:
    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if shared:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def _worker(host: str, port: int, log_level: str, tls: tuple[str, str] | None) -> None:
    sock = _listening_socket(host, port)
    uvicorn.Server(uvicorn.Config(APP, factory=True, log_level=log_level, **_tls(tls))).run(sockets=[sock])


class Supervisor:
    """Starts the workers, restarts one that dies, stops them all on SIGINT or SIGTERM."""

    def __init__(self, host: str, port: int, workers: int, log_level: str, tls: tuple[str, str] | None) -> None:
        self.args = (host, port, log_level, tls)
        self.count = workers
        self.context = multiprocessing.get_context("spawn")
        self.processes: list[multiprocessing.process.BaseProcess] = []
        self.stopping = False

    def run(self) -> None:
        # A port already in use (even by another server's workers) fails here, once, clearly.
        host, port, _, _ = self.args
        try:
            _listening_socket(host, port, shared=False).close()
        except OSError as error:
            raise ServeError(f"cannot listen on {host}:{port}: {error.strerror}") from None
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, self._stop)
        self.processes = [self._start() for _ in range(self.count)]
        while not self.stopping:
            for position, process in enumerate(self.processes):
                if not process.is_alive() and not self.stopping:
                    print(f"worker {process.pid} exited with {process.exitcode}; starting another", flush=True)
                    self.processes[position] = self._start()
            time.sleep(0.5)
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            process.join(timeout=30)

    def _start(self) -> multiprocessing.process.BaseProcess:
        process = self.context.Process(target=_worker, args=self.args, name="vigil-worker")
        process.start()
        return process

    def _stop(self, _signum: int, _frame: FrameType | None) -> None:
        self.stopping = True
