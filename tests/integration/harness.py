# SPDX-License-Identifier: Apache-2.0
"""Shared helpers for tickerd integration tests (pytest fixtures live in
conftest.py). Everything runs on 127.0.0.1 and is owned by the test: every
process started here is a direct child (never daemonized), stopped at
teardown.

Run with Debian's interpreter: /usr/bin/python3 -m pytest tests/integration
"""

import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import redis

REPO = Path(__file__).resolve().parents[2]
DEFAULT_TICKERD = REPO / "build" / "asan-ubsan" / "tickerd"
REDIS_SERVER = "redis-server"

SANITIZER_ENV = {
    "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:halt_on_error=1",
    "UBSAN_OPTIONS": "halt_on_error=1:print_stacktrace=1",
}
# Leaks inside third-party libraries (if any must be tolerated) are listed in
# this file, one LSan suppression per line; used only if it exists.
LSAN_SUPPRESSIONS = REPO / "tests" / "lsan.supp"
if LSAN_SUPPRESSIONS.exists():
    SANITIZER_ENV["LSAN_OPTIONS"] = f"suppressions={LSAN_SUPPRESSIONS}:print_suppressions=0"
SANITIZER_MARKERS = (b"ERROR: AddressSanitizer", b"ERROR: LeakSanitizer", b"runtime error:")

# ---------------------------------------------------------------- ports ----

_handed_out = set()
_ports_lock = threading.Lock()


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago and that this
    session has not handed out before."""
    for _ in range(100):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        with _ports_lock:
            if port not in _handed_out:
                _handed_out.add(port)
                return port
    raise RuntimeError("no free port found")


def port_open(port, host="127.0.0.1"):
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


def wait_port(port, timeout=10.0, proc=None, host="127.0.0.1"):
    """Waits until host:port accepts TCP. Fails early if `proc` (a Proc or
    Popen) exits meanwhile."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open(port, host):
            return
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"process exited ({proc.poll()}) before {host}:{port} opened"
                                 + (proc.describe() if hasattr(proc, "describe") else ""))
        time.sleep(0.02)
    raise AssertionError(f"{host}:{port} did not accept TCP within {timeout}s"
                         + (proc.describe() if hasattr(proc, "describe") else ""))


def opts_to_args(opts):
    """kwargs -> command-line flags: drop_every=2 -> ['--drop-every', '2'];
    True -> '--flag'; False -> '--no-flag'; None -> omitted; a list or tuple
    repeats the flag once per element."""
    args = []
    for key, val in opts.items():
        flag = "--" + key.replace("_", "-")
        if val is None:
            continue
        if val is True:
            args.append(flag)
        elif val is False:
            args.append("--no-" + key.replace("_", "-"))
        elif isinstance(val, (list, tuple)):
            for v in val:
                args += [flag, str(v)]
        else:
            args += [flag, str(val)]
    return args


# ---------------------------------------------------------------- redis ----


class RedisServer:
    """A real redis-server child process on 127.0.0.1:port, data in `dir`.

    Not daemonized, so we own its pid. `start()` after `stop()`/`kill()`
    restarts it on the same port (the "Redis restarted mid-stream" case).
    Extra config as keyword arguments: maxclients=10 -> --maxclients 10.
    By default pub/sub clients get no output-buffer limit, so that a slow
    Python collector is not disconnected by Redis (pass
    client_output_buffer_limit=... to change that)."""

    def __init__(self, dir, port=None, **conf):
        self.dir = Path(dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}"
        self.conf = {"client_output_buffer_limit": "pubsub 0 0 0"}
        self.conf.update(conf)
        self.proc = None
        self.log_path = self.dir / "redis.log"
        self.starts = 0

    def argv(self):
        return [REDIS_SERVER, "--bind", "127.0.0.1", "--port", str(self.port),
                "--dir", str(self.dir), "--save", "", "--appendonly", "no",
                "--daemonize", "no", "--logfile", ""] + opts_to_args(self.conf)

    def start(self, timeout=10.0):
        if self.running:
            return self
        log = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(self.argv(), stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, cwd=self.dir)
        finally:
            log.close()
        self.starts += 1
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"redis-server exited ({self.proc.returncode}):\n"
                                     + self.log_path.read_text(errors="replace")[-2000:])
            try:
                if self.client(socket_timeout=0.5).ping():
                    return self
            except redis.exceptions.RedisError:
                time.sleep(0.02)
        raise AssertionError(f"redis-server on port {self.port} not ready in {timeout}s")

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def client(self, **kw):
        """A new redis-py client (bytes in, bytes out)."""
        kw.setdefault("socket_timeout", 10)
        kw.setdefault("password", self.conf.get("requirepass"))
        return redis.Redis(host="127.0.0.1", port=self.port, **kw)

    def stop(self, timeout=10.0):
        """Graceful: SIGTERM (Redis closes its clients and exits)."""
        self._end(signal.SIGTERM, timeout)

    def kill(self):
        """Abrupt: SIGKILL, connections reset, nothing flushed."""
        self._end(signal.SIGKILL, 10.0)

    def pause(self):
        """SIGSTOP: Redis hangs with its connections open. resume() undoes."""
        if self.running:
            self.proc.send_signal(signal.SIGSTOP)

    def resume(self):
        if self.running:
            self.proc.send_signal(signal.SIGCONT)

    def _end(self, sig, timeout):
        if not self.running:
            return
        self.proc.send_signal(signal.SIGCONT)
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


class RedisCollector:
    """Subscribes (SUBSCRIBE `channels`, PSUBSCRIBE `patterns`) in a
    background thread and keeps every message, in arrival order, as
    (channel: str, data: bytes) in `.messages`.

    If the server goes away the thread reconnects and subscribes again
    (messages published meanwhile are missed; `.reconnects` counts it). Use
    wait_subscribed() before publishing, including after a Redis restart.
    redis-py is slow (tens of thousands of messages per second): fine for
    correctness tests, not for throughput measurements."""

    def __init__(self, port, channels=(), patterns=(), password=None):
        if not channels and not patterns:
            raise ValueError("nothing to subscribe to")
        self.port = port
        self.password = password
        self.channels = list(channels)
        self.patterns = list(patterns)
        self.messages = []
        self.reconnects = 0
        self.errors = []
        self._cond = threading.Condition()
        self._subscribed_gen = 0  # bumps once per complete subscription
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name=f"collector:{port}")

    def start(self, timeout=10.0):
        self._thread.start()
        self.wait_subscribed(timeout)
        return self

    def _subscribe(self):
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=5,
                             socket_connect_timeout=1, password=self.password)
        ps = client.pubsub()
        if self.channels:
            ps.subscribe(*self.channels)
        if self.patterns:
            ps.psubscribe(*self.patterns)
        return client, ps

    def _loop(self, ps):
        want = len(self.channels) + len(self.patterns)
        confirmed = 0
        while not self._stop.is_set():
            msg = ps.get_message(timeout=0.1)
            if msg is None:
                continue
            kind = msg["type"]
            if kind in ("subscribe", "psubscribe"):
                confirmed += 1
                if confirmed == want:
                    with self._cond:
                        self._subscribed_gen += 1
                        self._cond.notify_all()
            elif kind in ("message", "pmessage"):
                ch = msg["channel"]
                with self._cond:
                    self.messages.append((ch.decode() if isinstance(ch, bytes) else ch,
                                          msg["data"]))
                    self._cond.notify_all()

    def _run(self):
        first = True
        while not self._stop.is_set():
            client = ps = None
            try:
                client, ps = self._subscribe()
                if not first:
                    self.reconnects += 1
                first = False
                self._loop(ps)
            except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError,
                    OSError) as e:
                self.errors.append(repr(e))
                self._stop.wait(0.05)
            finally:
                for c in (ps, client):
                    try:
                        if c is not None:
                            c.close()
                    except Exception:
                        pass

    def wait_subscribed(self, timeout=10.0, after_gen=None):
        """Waits for a complete subscription (after `after_gen`, default: the
        current one if there is one). Returns the generation number."""
        with self._cond:
            target = 1 if after_gen is None else after_gen + 1
            if not self._cond.wait_for(lambda: self._subscribed_gen >= target, timeout):
                raise AssertionError(f"collector not subscribed within {timeout}s; errors: "
                                     f"{self.errors[-3:]}")
            return self._subscribed_gen

    @property
    def generation(self):
        with self._cond:
            return self._subscribed_gen

    def wait_count(self, n, timeout=10.0):
        """Waits until at least n messages arrived; returns a copy of them."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.messages) >= n, timeout):
                raise AssertionError(f"collector got {len(self.messages)} messages, wanted {n} "
                                     f"within {timeout}s")
            return list(self.messages)

    def wait_quiet(self, quiet=0.5, timeout=30.0):
        """Waits until no message arrived for `quiet` seconds; returns them."""
        deadline = time.monotonic() + timeout
        last = -1
        while time.monotonic() < deadline:
            with self._cond:
                n = len(self.messages)
            if n == last:
                return self.snapshot()
            last = n
            time.sleep(quiet)
        raise AssertionError(f"collector still receiving after {timeout}s")

    def snapshot(self):
        with self._cond:
            return list(self.messages)

    def stop(self):
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5)


# ---------------------------------------------------------------- procs ----


class Proc:
    """A tickerd (or other) child process with stdout and stderr in files
    under `dir` (<name>.out / <name>.err).

    Teardown (check()) asserts that stderr holds no sanitizer report and that
    a process we stopped with SIGTERM exited 0."""

    def __init__(self, argv, dir, name, env=None, port=None):
        self.argv = [str(a) for a in argv]
        self.name = name
        self.port = port
        self.out_path = Path(dir) / f"{name}.out"
        self.err_path = Path(dir) / f"{name}.err"
        full_env = dict(os.environ)
        full_env.update(SANITIZER_ENV)
        full_env.update(env or {})
        self.env = full_env
        self.popen = None
        self.sigtermed = False
        self.killed = False

    def start(self):
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
            self.popen = subprocess.Popen(self.argv, stdout=out, stderr=err,
                                          stdin=subprocess.DEVNULL, env=self.env)
        return self

    @property
    def pid(self):
        return self.popen.pid

    def poll(self):
        return self.popen.poll()

    @property
    def returncode(self):
        return self.popen.poll()

    @property
    def addr(self):
        return f"127.0.0.1:{self.port}"

    def url(self, path="", scheme="ws"):
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    def stdout(self):
        return self.out_path.read_bytes() if self.out_path.exists() else b""

    def stderr(self):
        return self.err_path.read_bytes() if self.err_path.exists() else b""

    def stdout_lines(self):
        """Complete lines of stdout (a partial last line is left out)."""
        data = self.stdout()
        lines = data.split(b"\n")
        return lines[:-1]

    def describe(self, tail=3000):
        err = self.stderr()[-tail:].decode(errors="replace")
        return (f"\n--- {self.name}: {' '.join(self.argv)} (rc={self.poll()})\n"
                f"--- stderr (tail):\n{err}")

    def count_log(self, regex, stream="stderr"):
        data = self.stderr() if stream == "stderr" else self.stdout()
        pat = re.compile(regex.encode() if isinstance(regex, str) else regex)
        return len(pat.findall(data))

    def wait_for_log(self, regex, timeout=10.0, stream="stderr", count=1):
        """Waits until `regex` (str or bytes) matched at least `count` times
        in stderr (or stdout); returns the last match. Fails early, with the
        log, if the process exits first."""
        pat = re.compile(regex.encode() if isinstance(regex, str) else regex)
        deadline = time.monotonic() + timeout
        while True:
            data = self.stderr() if stream == "stderr" else self.stdout()
            found = list(pat.finditer(data))
            if len(found) >= count:
                return found[-1]
            exited = self.poll() is not None
            if exited or time.monotonic() >= deadline:
                why = "exited" if exited else f"timed out after {timeout}s"
                raise AssertionError(f"{self.name}: {why} waiting for {regex!r} "
                                     f"(x{count}, saw {len(found)})" + self.describe())
            time.sleep(0.02)

    def signal(self, sig):
        if self.poll() is None:
            self.popen.send_signal(sig)

    def stop(self, timeout=10.0):
        """SIGTERM, wait up to `timeout`, then SIGKILL. Returns the exit code."""
        if self.poll() is None:
            self.sigtermed = True
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.killed = True
                self.popen.kill()
                self.popen.wait(5)
        return self.popen.returncode

    def kill(self):
        if self.poll() is None:
            self.killed = True
            self.popen.kill()
            self.popen.wait(5)
        return self.popen.returncode

    def sanitizer_reports(self):
        err = self.stderr()
        return [m.decode() for m in SANITIZER_MARKERS if m in err]

    def check(self):
        """Stops the process if needed and asserts it ended cleanly."""
        self.stop()
        problems = []
        reports = self.sanitizer_reports()
        if reports:
            problems.append(f"sanitizer reports: {reports}")
        if self.killed:
            problems.append("did not exit within 10 s of SIGTERM (SIGKILLed)")
        elif self.sigtermed and self.popen.returncode != 0:
            problems.append(f"exit code {self.popen.returncode} after SIGTERM (want 0)")
        if problems:
            raise AssertionError(f"{self.name}: " + "; ".join(problems) + self.describe(8000))


class Tickerd:
    """Starts tickerd subcommands; every Proc is checked at teardown."""

    def __init__(self, binary, dir):
        self.binary = Path(binary)
        self.dir = Path(dir)
        self.procs = []
        self._n = 0

    def start(self, subcmd, *args, name=None, env=None, port=None):
        self._n += 1
        p = Proc([self.binary, subcmd, *args], self.dir, name or f"{subcmd}{self._n}",
                 env=env, port=port)
        self.procs.append(p)
        return p.start()

    def _listening(self, subcmd, opts, wait, env, name, always_listen):
        listen = opts.pop("listen", None)
        port = None
        if listen is None and always_listen:
            listen = True
        if listen is True:
            port = free_port()
            listen = f"127.0.0.1:{port}"
        elif listen:
            port = int(str(listen).rsplit(":", 1)[1])
        args = (["--listen", listen] if listen else []) + opts_to_args(opts)
        p = self.start(subcmd, *args, name=name, env=env, port=port)
        if port and wait:
            wait_port(port, timeout=15, proc=p)
        return p

    def sim(self, wait=True, env=None, name=None, **opts):
        """`tickerd sim --listen 127.0.0.1:<free port> <opts>`; waits until
        the port accepts TCP. drop_every=2 -> --drop-every 2."""
        return self._listening("sim", opts, wait, env, name, always_listen=True)

    def run(self, wait=True, env=None, name=None, **opts):
        """`tickerd run <opts>`; listen=True picks a free port (then waits
        for it); listen='127.0.0.1:P' uses that one; no listen: none."""
        return self._listening("run", opts, wait, env, name, always_listen=False)

    def check_all(self):
        errors = []
        for p in self.procs:
            try:
                p.check()
            except AssertionError as e:
                errors.append(str(e))
        if errors:
            raise AssertionError("\n\n".join(errors))


# -------------------------------------------------------------- records ----

KIND_BY_T = {
    "t": "trades", "q": "quotes", "b": "bars", "d": "dailyBars", "u": "updatedBars",
    "s": "statuses", "l": "lulds", "i": "imbalances", "c": "corrections",
    "x": "cancelErrors", "o": "orderbooks", "n": "news",
}


def read_record(path):
    """The sim's --record file: one JSON object per line, exactly the bytes
    of one event as sent. Returns a list of bytes (without the newline)."""
    data = Path(path).read_bytes()
    return [line for line in data.split(b"\n") if line]


def event_channels(event, prefix=""):
    """Channels tickerd publishes `event` (bytes, str or dict) to: one per
    symbol for news (its `symbols` list), else <prefix><kind>.<S>; [] for
    control messages (success, error, subscription) and unknown types."""
    obj = json.loads(event) if isinstance(event, (bytes, str)) else event
    kind = KIND_BY_T.get(obj.get("T"))
    if kind is None:
        return []
    if kind == "news":
        return [f"{prefix}news.{s}" for s in obj.get("symbols") or []]
    sym = obj.get("S")
    return [f"{prefix}{kind}.{sym}"] if sym is not None else []


def expected_messages(events, prefix=""):
    """(channel, data bytes) for each event (bytes), in order, as a Redis
    subscriber to everything would see them."""
    out = []
    for ev in events:
        raw = ev if isinstance(ev, bytes) else ev.encode()
        for ch in event_channels(raw, prefix):
            out.append((ch, raw))
    return out


def group_by_channel(messages):
    """{channel: [data, ...]} preserving order within each channel (Redis
    orders per publisher connection; comparing per channel is robust)."""
    out = {}
    for ch, data in messages:
        out.setdefault(ch, []).append(data)
    return out


# ------------------------------------------------------------- postgres ----

def pg_bindir():
    """Debian's /usr/lib/postgresql/<ver>/bin, preferring 15."""
    found = {p.parts[-3]: p.parent for p in Path("/usr/lib/postgresql").glob("*/bin/initdb")}
    dirs = [found[v] for v in sorted(found, key=lambda v: (v != "15", v))]
    if not dirs:
        raise RuntimeError("PostgreSQL server binaries not found (apt-get install postgresql)")
    return dirs[0]


class PostgresServer:
    """A throwaway PostgreSQL cluster on 127.0.0.1:port. PostgreSQL refuses
    to run as root, so as root everything runs as the `postgres` user
    (runuser) in a temp dir that user owns (not under pytest's tmp_path,
    which that user cannot traverse). trust auth, fsync off."""

    def __init__(self, port=None):
        import tempfile
        self.port = port or free_port()
        self.base = Path(tempfile.mkdtemp(prefix="td-pg-"))
        self.data = self.base / "data"
        self.log_path = self.base / "pg.log"
        self.bindir = pg_bindir()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self.started = False

    def _run(self, *argv, timeout=60):
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        return subprocess.run(prefix + [str(self.bindir / argv[0]), *argv[1:]],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              timeout=timeout, check=True)

    def start(self):
        self.base.chmod(0o755)
        if os.geteuid() == 0:
            import shutil
            shutil.chown(self.base, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust",
                  "-E", "UTF8", "--no-locale", "--no-sync")
        opts = (f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 -c fsync=off"
                " -c full_page_writes=off")
        try:
            self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log_path), "-w",
                      "-t", "30", "-o", opts, "start")
        except subprocess.CalledProcessError as e:
            log = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
            raise AssertionError(f"pg_ctl start failed: {e.stdout!r}\n{log[-3000:]}")
        self.started = True
        return self

    def connect(self, dbname="postgres"):
        import psycopg2
        c = psycopg2.connect(host="127.0.0.1", port=self.port, user="postgres", dbname=dbname)
        c.autocommit = True
        return c

    def create_database(self, name):
        """A fresh database; returns its URL."""
        c = self.connect()
        try:
            with c.cursor() as cur:
                cur.execute(f'CREATE DATABASE "{name}"')
        finally:
            c.close()
        return self.db_url(name)

    def db_url(self, name):
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self):
        import shutil
        if self.started:
            try:
                self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
            except subprocess.CalledProcessError:
                pass
            self.started = False
        shutil.rmtree(self.base, ignore_errors=True)


# ------------------------------------------------- redis: auth, TLS, unix ----


def redis_acl_user(dir, name, password, rules):
    """RedisServer conf for one ACL user besides the default one (kept open
    for the harness's clients): an ACL file in dir with "user NAME on
    >PASSWORD RULES"."""
    path = Path(dir) / f"acl-{name}.conf"
    path.write_text(f"user default on nopass ~* &* +@all\nuser {name} on >{password} {rules}\n")
    return {"aclfile": path}


def redis_tls_conf(cert, key, ca):
    """RedisServer conf adding a TLS port (the plain port stays, for the
    harness's own clients): returns (conf, tls_port)."""
    port = free_port()
    return {"tls_port": port, "tls_cert_file": cert, "tls_key_file": key,
            "tls_ca_cert_file": ca, "tls_auth_clients": "no"}, port


def redis_unix_conf(dir):
    """RedisServer conf adding a unix socket: returns (conf, path)."""
    path = Path(dir) / "redis.sock"
    return {"unixsocket": path, "unixsocketperm": "700"}, path



class RedisSentinels:
    """A primary, one replica and `n` sentinels (redis-server --sentinel,
    each with its own config file in dir) watching it as `name`, with short
    failure detection (down-after-milliseconds 500, failover-timeout 2000).
    .primary/.replica are RedisServer; .ports the sentinels'; .url the
    redis+sentinel:// URL; .stop() ends everything."""

    def __init__(self, dir, name="mymaster", n=3):
        self.dir = Path(dir)
        self.name = name
        self.primary = RedisServer(self.dir / "primary").start()
        self.replica = RedisServer(self.dir / "replica",
                                   replicaof=f"127.0.0.1 {self.primary.port}").start()
        self.ports = [free_port() for _ in range(n)]
        self.procs = []
        for i, port in enumerate(self.ports):
            d = self.dir / f"sentinel{i}"
            d.mkdir(parents=True, exist_ok=True)
            conf = d / "sentinel.conf"
            conf.write_text(f"port {port}\nbind 127.0.0.1\ndir {d}\n"
                            f"sentinel monitor {name} 127.0.0.1 {self.primary.port} 2\n"
                            f"sentinel down-after-milliseconds {name} 500\n"
                            f"sentinel failover-timeout {name} 2000\n"
                            f"sentinel parallel-syncs {name} 1\n")
            log = open(d / "sentinel.log", "ab")
            self.procs.append(subprocess.Popen([REDIS_SERVER, str(conf), "--sentinel"],
                                               stdout=log, stderr=subprocess.STDOUT,
                                               stdin=subprocess.DEVNULL, cwd=d))
            log.close()
        for port in self.ports:
            wait_port(port)
        self.url = ("redis+sentinel://" + ",".join(f"127.0.0.1:{p}" for p in self.ports)
                    + f"/{name}")
        self.wait_replica_known()

    def master_port(self, sentinel=0):
        r = redis.Redis(host="127.0.0.1", port=self.ports[sentinel], socket_timeout=5)
        addr = r.execute_command("SENTINEL", "get-master-addr-by-name", self.name)
        return int(addr[1]) if addr else None

    def wait_replica_known(self, timeout=15.0):
        """Until every sentinel knows the replica and the other sentinels
        (a failover needs both)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ok = True
            for port in self.ports:
                r = redis.Redis(host="127.0.0.1", port=port, socket_timeout=5)
                m = r.execute_command("SENTINEL", "master", self.name)
                info = dict(zip(m[::2], m[1::2])) if isinstance(m, list) else m
                if (int(info.get(b"num-slaves", 0)) < 1
                        or int(info.get(b"num-other-sentinels", 0)) < len(self.ports) - 1):
                    ok = False
            if ok:
                return
            time.sleep(0.1)
        raise AssertionError("sentinels did not discover the replica and each other")

    def wait_master(self, port, timeout=20.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(self.master_port(i) == port for i in range(len(self.ports))):
                return
            time.sleep(0.1)
        raise AssertionError(f"the sentinels did not elect 127.0.0.1:{port}")

    def stop(self):
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(5)
        self.replica.stop()
        self.primary.stop()


# --------------------------------------------------------- redis cluster ----


class RedisCluster:
    """A Redis Cluster on 127.0.0.1: `primaries` primaries with `replicas`
    replicas each (`redis-cli --cluster create`), every node a RedisServer
    child in dir/nodeN. A short node timeout (ms) makes failovers quick.
    Extra config goes to every node (requirepass=... also sets masterauth)."""

    def __init__(self, dir, primaries=3, replicas=1, node_timeout=1000, **conf):
        self.replicas = replicas
        if "requirepass" in conf:
            conf.setdefault("masterauth", conf["requirepass"])
        self.password = conf.get("requirepass")
        self.nodes = [RedisServer(Path(dir) / f"node{i}", cluster_enabled="yes",
                                  cluster_config_file="nodes.conf",
                                  cluster_node_timeout=node_timeout,
                                  cluster_port=free_port(), **conf)  # not port + 10000
                      for i in range(primaries * (1 + replicas))]
        self.url = "redis+cluster://" + ",".join(f"127.0.0.1:{n.port}" for n in self.nodes[:2])

    def start(self, timeout=30.0):
        for n in self.nodes:
            n.start()
        subprocess.run(["redis-cli", "--cluster", "create",
                        *[f"127.0.0.1:{n.port}" for n in self.nodes],
                        "--cluster-replicas", str(self.replicas), "--cluster-yes",
                        *(["-a", self.password, "--no-auth-warning"] if self.password else [])],
                       check=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=timeout)
        self.wait_ok(timeout, replicas=self.replicas)
        return self

    def node(self, port):
        return next(n for n in self.nodes if n.port == port)

    def slots(self):
        """[(first, last, primary port, [replica ports])] from a live node."""
        for n in self.nodes:
            if not n.running:
                continue
            try:
                rows = n.client(socket_timeout=1).execute_command("CLUSTER", "SLOTS")
            except redis.exceptions.RedisError:
                continue
            return [(r[0], r[1], r[2][1], [x[1] for x in r[3:]]) for r in rows]
        raise AssertionError("no cluster node answers")

    def keyslot(self, key):
        n = next(n for n in self.nodes if n.running)
        return n.client().execute_command("CLUSTER", "KEYSLOT", key)

    def owner(self, key):
        """Port of the primary that serves key's slot now."""
        slot = self.keyslot(key)
        return next(p for lo, hi, p, _ in self.slots() if lo <= slot <= hi)

    def wait_ok(self, timeout=30.0, primaries=None, replicas=0):
        """Until every live node says cluster_state:ok, all slots are served
        by live primaries (`primaries` of them if given), each with at least
        `replicas` replicas listed, and every replica's link is up."""
        deadline = time.monotonic() + timeout
        why = ""
        while time.monotonic() < deadline:
            try:
                live = [n for n in self.nodes if n.running]
                infos = [n.client(socket_timeout=1).execute_command("CLUSTER", "INFO")
                         for n in live]
                rows = self.slots()
                owners = {p for _, _, p, _ in rows}
                reps = [p for *_, rs in rows for p in rs if self.node(p).running]
                links = [self.node(p).client(socket_timeout=1).info("replication")
                         for p in reps]
                ok = (all(b"cluster_state:ok" in i for i in infos)
                      and sum(hi - lo + 1 for lo, hi, _, _ in rows) == 16384
                      and all(self.node(p).running for p in owners)
                      and (primaries is None or len(owners) == primaries)
                      and all(len(rs) >= replicas for *_, rs in rows)
                      and all(li.get("master_link_status") == "up" for li in links))
                if ok:
                    return
                why = f"owners {sorted(owners)}"
            except redis.exceptions.RedisError as e:
                why = repr(e)
            time.sleep(0.1)
        raise AssertionError(f"cluster not ok within {timeout}s: {why}")

    def stop(self):
        for n in self.nodes:
            n.stop()


def _resp_parse(buf, pos=0):
    """One RESP2 value from buf[pos:]: (value, next pos), or None if the
    buffer does not hold all of it yet. Errors come back as Exception."""
    end = buf.find(b"\r\n", pos)
    if end < 0:
        return None
    t, line = buf[pos:pos + 1], buf[pos + 1:end]
    if t in (b"+", b"-"):
        return (line if t == b"+" else Exception(line.decode())), end + 2
    if t == b":":
        return int(line), end + 2
    n = int(line)
    if t == b"$":
        if n < 0:
            return None, end + 2
        if len(buf) < end + 2 + n + 2:
            return None
        return buf[end + 2:end + 2 + n], end + 2 + n + 2
    items, p = [], end + 2
    for _ in range(max(n, 0)):
        r = _resp_parse(buf, p)
        if r is None:
            return None
        items.append(r[0])
        p = r[1]
    return items, p


def _resp_cmd(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a.encode() if isinstance(a, str) else a
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


class ShardedCollector(RedisCollector):
    """SSUBSCRIBEs `channels` on the primaries that serve them, one raw
    socket per primary (Debian's redis-py 4.3 has no sharded pub/sub), and
    keeps every message as RedisCollector does. A socket that fails is
    replaced, on the channel's primary of the moment (after a failover: the
    promoted replica), and `.reconnects` counts it."""

    def __init__(self, cluster, channels):
        super().__init__(None, channels=channels)
        self.cluster = cluster

    def _open(self, chans):
        port = self.cluster.owner(chans[0])
        s = socket.create_connection(("127.0.0.1", port), timeout=1)
        s.sendall(b"".join(_resp_cmd("SSUBSCRIBE", ch) for ch in chans))
        return {"sock": s, "chans": chans, "buf": b"", "confirmed": 0}

    def _groups(self):
        by_owner = {}
        for ch in self.channels:
            by_owner.setdefault(self.cluster.owner(ch), []).append(ch)
        return [self._open(chans) for chans in by_owner.values()]

    def _feed(self, g):
        data = g["sock"].recv(65536)
        if not data:
            raise ConnectionError("closed")
        g["buf"] += data
        pos = 0
        while True:
            r = _resp_parse(g["buf"], pos)
            if r is None:
                break
            msg, pos = r
            if isinstance(msg, list) and msg[0] == b"ssubscribe":
                g["confirmed"] += 1
            elif isinstance(msg, list) and msg[0] == b"sunsubscribe":
                raise ConnectionError("slot moved")  # resubscribe on the new owner
            elif isinstance(msg, list) and msg[0] == b"smessage":
                with self._cond:
                    self.messages.append((msg[1].decode(), msg[2]))
                    self._cond.notify_all()
        g["buf"] = g["buf"][pos:]

    def _run(self):
        import select
        groups = None
        while groups is None and not self._stop.is_set():
            try:
                groups = self._groups()
            except (OSError, redis.exceptions.RedisError) as e:
                self.errors.append(repr(e))
                time.sleep(0.1)
        was_complete = False
        while not self._stop.is_set():
            for i, g in enumerate(groups):
                if g["sock"] is None:
                    try:
                        groups[i] = self._open(g["chans"])
                        self.reconnects += 1
                    except (OSError, redis.exceptions.RedisError) as e:
                        self.errors.append(repr(e))
            socks = [g["sock"] for g in groups if g["sock"] is not None]
            ready = select.select(socks, [], [], 0.1)[0] if socks else time.sleep(0.1) or []
            for g in groups:
                if g["sock"] in ready:
                    try:
                        self._feed(g)
                    except OSError as e:
                        self.errors.append(repr(e))
                        g["sock"].close()
                        g["sock"] = None
                        was_complete = False
            complete = all(g["sock"] is not None and g["confirmed"] == len(g["chans"])
                           for g in groups)
            if complete and not was_complete:
                with self._cond:
                    self._subscribed_gen += 1
                    self._cond.notify_all()
            was_complete = complete
        for g in groups or []:
            if g["sock"] is not None:
                g["sock"].close()
