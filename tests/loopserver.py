"""A small HTTP server on a loopback address for tests: `routes(path) -> (status, headers, body)`,
every request logged with its arrival time."""
from __future__ import annotations

import http.server
import threading
import time
from typing import Callable

Route = Callable[[str], tuple[int, dict[str, str], bytes]]


class LoopServer:
    def __init__(self, routes: Route, host: str = "127.0.0.1", port: int = 0):
        self.log: list[tuple[float, str, int]] = []   # (time, path, status)
        self.lock = threading.Lock()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                status, headers, body = routes(self.path)
                with server.lock:
                    server.log.append((time.monotonic(), self.path, status))
                self.send_response(status)
                for k, v in {"Content-Type": "text/html; charset=utf-8", **headers}.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = http.server.ThreadingHTTPServer((host, port), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.host = host
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)

    def __enter__(self) -> "LoopServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def paths(self) -> list[str]:
        with self.lock:
            return [p for _, p, _ in self.log]
