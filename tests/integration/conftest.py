# SPDX-License-Identifier: Apache-2.0
"""pytest fixtures for tickerd integration tests (helpers in harness.py).

    tickerd_bin                      path of the binary ($TICKERD, default
                                     build/asan-ubsan/tickerd); errors if missing
    free_port()                      a free TCP port on 127.0.0.1
    redis_server(**conf) -> RedisServer   started; .port .url .client() .stop()
                                     .kill() .start() .pause() .resume()
    redis -> RedisServer             one started server (shortcut)
    redis_collector(server_or_port, channels=(), patterns=()) -> RedisCollector
                                     subscribed already; .messages .wait_count(n, timeout)
    tickerd -> Tickerd               .sim(**opts) .run(**opts) .start(subcmd, *args) -> Proc
                                     every Proc is stopped and checked at teardown
                                     (no sanitizer report; exit 0 after SIGTERM)
    postgres_server -> PostgresServer  one real PostgreSQL per session (temp dir
                                     owned by the postgres user); .port .url
                                     .connect(dbname) .create_database(name)
    postgres -> str                  URL of a fresh, empty database on it
"""

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402


@pytest.fixture(scope="session")
def tickerd_bin():
    path = Path(os.environ.get("TICKERD", harness.DEFAULT_TICKERD))
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(f"tickerd binary not found at {path}: build it (make build-asan) or set "
                    f"TICKERD=/path/to/tickerd", pytrace=False)
    return path


@pytest.fixture
def free_port():
    return harness.free_port


@pytest.fixture
def redis_server(tmp_path):
    servers = []

    def factory(**conf):
        srv = harness.RedisServer(tmp_path / f"redis{len(servers) + 1}", **conf)
        servers.append(srv)
        return srv.start()

    yield factory
    for srv in servers:
        srv.stop()  # SIGCONT first, so a paused server stops too


@pytest.fixture
def redis(redis_server):
    return redis_server()


@pytest.fixture
def redis_collector():
    collectors = []

    def factory(server, channels=(), patterns=(), timeout=10.0):
        port = server if isinstance(server, int) else server.port
        password = None if isinstance(server, int) else server.conf.get("requirepass")
        c = harness.RedisCollector(port, channels=channels, patterns=patterns, password=password)
        collectors.append(c)
        return c.start(timeout)

    yield factory
    for c in collectors:
        c.stop()


@pytest.fixture
def tickerd(tickerd_bin, tmp_path):
    t = harness.Tickerd(tickerd_bin, tmp_path)
    yield t
    t.check_all()


@pytest.fixture(scope="session")
def postgres_server():
    srv = harness.PostgresServer()
    try:
        yield srv.start()
    finally:
        srv.stop()


_pg_dbs = iter(range(1, 1 << 30))


@pytest.fixture
def postgres(postgres_server):
    return postgres_server.create_database(f"t{next(_pg_dbs)}")
