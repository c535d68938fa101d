"""``shendu playground``: TensorFlow Playground's experiments, with the network trained by shendu.

A local web page (Python's standard HTTP server; the page's HTML, CSS and JavaScript ship in the
package and load nothing from elsewhere) where a small network learns a 2-D dataset while you
watch: the decision surface, every neuron's output, the weights and both losses, streamed from
the training thread as Server-Sent Events. The page's address holds its settings with TensorFlow
Playground's parameter names, so links written for TensorFlow Playground open the same experiment
— the same points, drawn from the same seeded random stream (:mod:`shendu.playground.data`).

    shendu playground [--port 8000] [--host 127.0.0.1] [--no-browser]

    >>> from shendu.playground import make_server
    >>> server = make_server(port=0)          # any free port on 127.0.0.1
    >>> server.server_address[0]
    '127.0.0.1'
    >>> server.server_close()
"""
from __future__ import annotations

from .data import SeedRandom, make_data
from .network import PlaygroundNet, Trainer
from .server import PlaygroundServer, make_server
from .session import Session
from .state import PlaygroundError, PlaygroundState

__all__ = ["PlaygroundError", "PlaygroundNet", "PlaygroundServer", "PlaygroundState", "SeedRandom", "Session",
           "Trainer", "make_data", "make_server", "serve"]


def serve(host="127.0.0.1", port=8000, open_browser=True, fps=12.0):
    """Serve the playground on ``http://host:port/`` until interrupted (Ctrl-C); open a browser tab if asked.

    A host other than a loopback address makes the page reachable from other machines: the
    server then accepts requests addressed to that host (see :mod:`shendu.playground.server`).
    """
    import webbrowser

    server = make_server(host, port, fps=fps)
    bound_host, bound_port = server.server_address[:2]
    url = f"http://{'127.0.0.1' if bound_host in ('0.0.0.0', '') else bound_host}:{bound_port}/"
    print(f"shendu playground on {url} (Ctrl-C stops it)", flush=True)
    if open_browser:
        webbrowser.open(url)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
