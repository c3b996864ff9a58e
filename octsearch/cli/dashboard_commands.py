"""``octsearch dashboard``: optuna-dashboard on the store's database (the extra ``octsearch[dashboard]``).

Every search keeps its sampler's study in the store's database (``octsearch:NAME``, and every
evaluation in ``octsearch:NAME:evaluations``); the dashboard reads them while the search runs.
It listens on 127.0.0.1 unless ``--host`` says otherwise: the dashboard can change studies (notes,
deleting a study) and has no login.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from octsearch.errors import ConfigError, OctsearchError

INSTALL = "pip install 'octsearch[dashboard]'"


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("dashboard", help="serve optuna-dashboard on the store (every search's study, live)")
    p.add_argument("name", metavar="NAME", nargs="?", help="open at this search's study (default: the list of studies)")
    p.add_argument("--db", metavar="URL", help="database URL: sqlite:///PATH or postgresql://... (default: $OCTSEARCH_DB, "
                                               "then a file in the user data directory)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8080, metavar="P", help="port (default 8080; 0: any free port)")
    p.set_defaults(func=cmd_dashboard)


def _require_dashboard() -> Any:
    try:
        import optuna_dashboard
    except ImportError:
        raise OctsearchError(f"the dashboard needs the optuna-dashboard package; install it with {INSTALL}") from None
    return optuna_dashboard


def cmd_dashboard(args: argparse.Namespace) -> int:
    if not 0 <= args.port <= 65535:
        raise ConfigError(f"--port {args.port}; accepted: 0 to 65535")
    dashboard = _require_dashboard()
    from octsearch.search.study import open_storage
    from octsearch.search.study_history import dashboard_study
    from octsearch.store import open_store

    store = open_store(args.db, create=False, upgrade=False)  # a viewer: never creates a database
    path = "/dashboard"
    if args.name is not None:
        path += f"/studies/{dashboard_study(store, args.name)}"
    server = _server(dashboard.wsgi(open_storage(store, writer=False)), args.host, args.port)
    host, port = server.server_address[:2]
    what = f"search {args.name!r}" if args.name else "every search"
    print(f"optuna-dashboard of {what} in {store.url}: http://{host}:{port}{path} (Ctrl-C stops it); each "
          f"parameter's alpha effect at equal FLOPs: octsearch effects {args.name or 'NAME'}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("dashboard stopped", file=sys.stderr)
    finally:
        server.server_close()
        store.close()
    return 0


def _server(app: Any, host: str, port: int) -> Any:
    """A threaded WSGI server that does not log every request to the terminal."""
    import socketserver
    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

    class Quiet(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base class's name)
            pass

    class Threaded(socketserver.ThreadingMixIn, WSGIServer):
        daemon_threads = True

    try:
        return make_server(host, port, app, server_class=Threaded, handler_class=Quiet)
    except OSError as e:
        raise ConfigError(f"cannot listen on {host}:{port} ({e.strerror}); accepted: another --port or --host") from None
