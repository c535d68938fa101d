"""The playground's web server: Python's ``ThreadingHTTPServer``, Server-Sent Events, JSON controls.

    GET  /                               the page (static files shipped in ``shendu/playground/static``)
    POST /api/sessions                   {"hash": "activation=tanh&…"} → 201 {"id", "state", "hash", "train", "test"}
    GET  /api/sessions/ID/events         text/event-stream: one JSON frame per event (see Session)
    POST /api/sessions/ID/control        {"action": "play|pause|step|reset|regenerate", "settings": {name: value}}
    POST /api/sessions/ID/close          the tab is closing (navigator.sendBeacon)

Each tab gets its own session and training thread; a session ends when its tab closes (its event
stream breaks, or the tab's close beacon), or when no stream has been connected for a minute.
Bad requests — malformed JSON, an unknown action, a setting out of range — get 400 and
``{"error": message}``; unknown sessions 404. Requests whose ``Host`` is not the address the server
listens on are refused (403), so that a web page elsewhere cannot drive it through DNS rebinding.
Nothing on the page is fetched from anywhere but this server.
"""
from __future__ import annotations

import json
import secrets
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources

from .session import Session
from .state import PlaygroundError, PlaygroundState

STATIC = {"/": ("index.html", "text/html; charset=utf-8"),
          "/static/playground.js": ("playground.js", "text/javascript; charset=utf-8"),
          "/static/playground.css": ("playground.css", "text/css; charset=utf-8")}
MAX_BODY = 64 * 1024
IDLE_SESSION_S = 60.0
KEEPALIVE_S = 1.0


class PlaygroundServer(ThreadingHTTPServer):
    """The HTTP server with its sessions; ``server_address`` holds the bound (host, port)."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, fps=12.0):
        super().__init__(address, Handler)
        self.sessions = {}
        self.streams = {}                 # session id -> number of connected event streams
        self.last_seen = {}
        self.fps = fps
        self.sessions_lock = threading.Lock()
        self._reaper = threading.Thread(target=self._reap, name="shendu-playground-reaper", daemon=True)
        self._reaper.start()

    def new_session(self, state):
        session = Session(state, fps=self.fps)
        sid = secrets.token_hex(8)
        with self.sessions_lock:
            self.sessions[sid] = session
            self.streams[sid] = 0
            self.last_seen[sid] = time.monotonic()
        return sid, session

    def end_session(self, sid):
        with self.sessions_lock:
            session = self.sessions.pop(sid, None)
            self.streams.pop(sid, None)
            self.last_seen.pop(sid, None)
        if session is not None:
            session.close()

    def _reap(self):
        while True:
            time.sleep(5)
            now = time.monotonic()
            with self.sessions_lock:
                idle = [sid for sid, n in self.streams.items() if n == 0 and now - self.last_seen[sid] > IDLE_SESSION_S]
            for sid in idle:
                self.end_session(sid)

    def server_close(self):
        for sid in list(self.sessions):
            self.end_session(sid)
        super().server_close()


class Handler(BaseHTTPRequestHandler):
    """One HTTP request of the playground: the routes in the module docstring."""
    server_version = "shendu-playground"
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):      # quiet: the terminal shows the address, not every request
        pass

    # ------------------------------------------------------------------ helpers
    def _send(self, status, body, content_type="application/json; charset=utf-8"):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'")
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status, message):
        self._send(status, {"error": message})

    def _host_ok(self):
        host = (self.headers.get("Host") or "").strip().lower()
        bound, port = self.server.server_address[:2]
        names = {f"{bound}:{port}", f"localhost:{port}", f"127.0.0.1:{port}", f"[::1]:{port}"}
        if host in names:
            return True
        self._error(HTTPStatus.FORBIDDEN, f"playground: requests must be addressed to this server "
                                          f"({bound}:{port}), got Host {host!r}")
        return False

    def _json_body(self):
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            raise PlaygroundError("request: Content-Length is not a number") from None
        if length > MAX_BODY:
            raise PlaygroundError(f"request: expected a body of at most {MAX_BODY} bytes, got {length}")
        raw = self.rfile.read(length) if length else b""
        if not raw:
            return {}
        try:
            body = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise PlaygroundError(f"request: the body is not valid JSON ({exc})") from None
        if not isinstance(body, dict):
            raise PlaygroundError(f"request: expected a JSON object, got {type(body).__name__}")
        return body

    def _session(self, sid):
        session = self.server.sessions.get(sid)
        if session is None:
            self._error(HTTPStatus.NOT_FOUND, f"playground: no session {sid!r} (it ended; reload the page)")
        return session

    # ------------------------------------------------------------------ routes
    def do_GET(self):
        if not self._host_ok():
            return
        path = self.path.split("?", 1)[0].split("#", 1)[0]
        if path in STATIC:
            name, ctype = STATIC[path]
            self._send(HTTPStatus.OK, resources.files(__package__).joinpath("static", name).read_bytes(), ctype)
            return
        parts = path.strip("/").split("/")
        if len(parts) == 4 and parts[:2] == ["api", "sessions"] and parts[3] == "events":
            self._events(parts[2])
            return
        self._error(HTTPStatus.NOT_FOUND, f"playground: nothing at {path}")

    def do_POST(self):
        if not self._host_ok():
            return
        parts = self.path.split("?", 1)[0].strip("/").split("/")
        try:
            body = self._json_body()
            if parts == ["api", "sessions"]:
                state = PlaygroundState.from_hash(str(body.get("hash", "")))
                sid, session = self.server.new_session(state)
                self._send(HTTPStatus.CREATED, {"id": sid, **session.describe()})
                return
            if len(parts) == 4 and parts[:2] == ["api", "sessions"] and parts[3] in ("control", "close"):
                if parts[3] == "close":
                    self.server.end_session(parts[2])
                    self._send(HTTPStatus.OK, {"closed": parts[2]})
                    return
                session = self._session(parts[2])
                if session is None:
                    return
                unknown = set(body) - {"action", "settings"}
                if unknown:
                    raise PlaygroundError(f"control: expected the keys action and settings, got {sorted(unknown)}")
                self._send(HTTPStatus.OK, session.control(body.get("action"), body.get("settings")))
                return
        except PlaygroundError as exc:
            self._error(HTTPStatus.BAD_REQUEST, str(exc))
            return
        self._error(HTTPStatus.NOT_FOUND, f"playground: nothing at {self.path}")

    def _events(self, sid):
        session = self._session(sid)
        if session is None:
            return
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        server = self.server
        with server.sessions_lock:
            server.streams[sid] = server.streams.get(sid, 0) + 1
        version = -1
        try:
            while not session.closed:
                version, frame = session.next_frame(version, KEEPALIVE_S)
                payload = b": keep-alive\n\n" if frame is None else b"data: " + json.dumps(frame).encode() + b"\n\n"
                self.wfile.write(payload)
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, OSError):
            pass                                      # the tab went away mid-stream
        finally:
            with server.sessions_lock:
                remaining = server.streams.get(sid, 1) - 1
                if sid in server.streams:
                    server.streams[sid] = remaining
                    server.last_seen[sid] = time.monotonic()
            if remaining <= 0:
                server.end_session(sid)           # its only tab closed: stop its training thread


def make_server(host="127.0.0.1", port=8000, fps=12.0):
    """A :class:`PlaygroundServer` bound to (host, port) (port 0: any free port), not yet serving."""
    return PlaygroundServer((host, int(port)), fps=fps)
