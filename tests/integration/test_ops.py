# SPDX-License-Identifier: Apache-2.0
"""What an operator relies on: the documents generated from the options
tables are current, --check-config, JSON logs and per-component levels,
the Grafana dashboard against a running tickerd's /metrics, and the
installed systemd unit's command line under a fake service manager."""

import configparser
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import time
import urllib.request

import harness

REPO = harness.REPO
ENV = {"APCA_API_KEY_ID": "k", "APCA_API_SECRET_KEY": "s"}
GENERATED = ["docs/CONFIG.md", "examples/tickerd.conf", "docs/tickerd.1",
             "contrib/bash-completion/tickerd"]


def run(bin, *args, env=None, timeout=20):
    full = dict(os.environ)
    full.update(harness.SANITIZER_ENV)
    full.update(env or {})
    return subprocess.run([str(bin), *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env=full)


def http_get(url):
    with urllib.request.urlopen(url, timeout=5) as r:
        return r.status, r.read().decode()


# ---- generated documents -------------------------------------------------------

def test_generated_documents_are_current(tickerd_bin, tmp_path):
    r = run(tickerd_bin, "config", "--dump-reference", tmp_path)
    assert r.returncode == 0, r.stderr
    for rel in GENERATED:
        fresh = (tmp_path / rel).read_text()
        committed = (REPO / rel).read_text()
        assert fresh == committed, f"{rel} is stale: run `make docs` and commit it"


def test_reference_lists_every_option_with_its_default(tickerd_bin):
    conf = (REPO / "examples/tickerd.conf").read_text()
    md = (REPO / "docs/CONFIG.md").read_text()
    man = (REPO / "docs/tickerd.1").read_text()
    comp = (REPO / "contrib/bash-completion/tickerd").read_text()
    for cmd in ("run", "sim", "backfill"):
        table = REPO / f"src/cmd/{cmd}_opts.c"  # the options table, where it has its own file
        src = (table if table.exists() else REPO / f"src/cmd/{cmd}.c").read_text()
        opts = re.findall(r'\{"([a-z-]+)", TD_OPT_(\w+), \w+\(\w+\), [^,]+, [^,]+, '
                          r'("(?:[^"\\]|\\.)*"|NULL)', src)
        assert len(opts) > 8
        section = conf.split(f"\n[{cmd}]\n", 1)[1].split("\n[", 1)[0]
        for name, _type, default in opts:
            if default != "NULL" and "SECRET" not in _type:
                assert f"\n#{name} = {json.loads(default)}\n" in section, (cmd, name)
            else:
                assert f"\n#{name} = " in section, (cmd, name)
            roff_name = re.escape(name.replace("-", "\\-"))
            assert f"`{name}`" in md, (cmd, name)
            assert re.search(r"\.B (\\-\\-|\\-\\-\[no\\-\])" + roff_name + r"\b", man), name
            assert f" --{name}" in comp, (cmd, name)


def test_bash_completion_completes_options(tmp_path):
    script = (f"source {REPO}/contrib/bash-completion/tickerd; COMP_WORDS=(tickerd run --stat); "
              "COMP_CWORD=2; _tickerd; echo \"${COMPREPLY[*]}\"")
    r = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=10)
    assert r.stdout.split() == ["--stats-interval", "--stdout"] or \
        sorted(r.stdout.split()) == ["--stats-interval"], r.stdout + r.stderr


def test_version_names_commit_and_libraries(tickerd_bin):
    r = run(tickerd_bin, "--version")
    assert r.returncode == 0
    cmake = (REPO / "CMakeLists.txt").read_text()
    version = re.search(r"project\(tickerd VERSION ([0-9.]+)", cmake).group(1)
    assert r.stdout.startswith(f"tickerd {version} (commit ")
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True,
                          text=True).stdout.strip()
    commit = re.search(r"\(commit ([0-9a-f]+)", r.stdout).group(1)
    assert head.startswith(commit), (head, r.stdout)
    for lib in ("libuv", "libwebsockets", "libcurl", "libpq", "sqlite", "OpenSSL"):
        assert re.search(rf"(^|\n|\s){lib}[ /][0-9]", r.stdout), (lib, r.stdout)


# ---- --check-config ----------------------------------------------------------------

def test_check_config_accepts_every_example(tickerd_bin):
    confs = sorted(REPO.glob("examples/*.conf"))
    assert confs
    for conf in confs:
        for cmd in ("sim", "backfill"):
            r = run(tickerd_bin, cmd, "--check-config", "-c", conf)
            assert r.returncode == 0, (conf, cmd, r.stderr)
            assert "configuration ok" in r.stdout
        # the reference comments every option out: `run` needs an upstream
        # (and the vendor keys, here from the environment) on top of it
        r = run(tickerd_bin, "run", "--check-config", "-c", conf)
        assert r.returncode == 2 and "no upstream" in r.stderr, r.stderr
        r = run(tickerd_bin, "run", "--check-config", "-c", conf, "--url",
                "ws://127.0.0.1:8765/v2/iex", env=ENV)
        assert r.returncode == 0 and "configuration ok" in r.stdout, r.stderr


def test_check_config_names_file_line_and_connects_nowhere(tickerd_bin, tmp_path):
    lsn = socket.socket()
    lsn.bind(("127.0.0.1", 0))
    lsn.listen(4)
    lsn.setblocking(False)
    port = lsn.getsockname()[1]
    conf = tmp_path / "t.conf"
    conf.write_text(f"[run]\nurl = ws://127.0.0.1:{port}/v2/iex\nlisten = 127.0.0.1:{port}\n"
                    f"redis = redis://127.0.0.1:{port}\n")
    r = run(tickerd_bin, "run", "--check-config", "-c", conf, env=ENV)
    assert r.returncode == 0 and "configuration ok" in r.stdout, r.stderr
    time.sleep(0.2)
    try:
        lsn.accept()
        raise AssertionError("--check-config connected to the upstream")
    except BlockingIOError:
        pass
    finally:
        lsn.close()
    conf.write_text("[run]\nfeed = alpaca\n\nstat-interval = 5\n")
    r = run(tickerd_bin, "run", "--check-config", "-c", conf)
    assert r.returncode == 2
    assert f"{conf}:4: unknown key 'stat-interval' in [run]; did you mean stats-interval?" \
        in r.stderr
    conf.write_text("[run]\n[clients]\nbad key = s\n")
    r = run(tickerd_bin, "run", "--check-config", "-c", conf)
    assert r.returncode == 2 and f"{conf}:3: bad client key" in r.stderr, r.stderr


def self_signed(dir):
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", "k.pem", "-out", "c.pem",
                    "-days", "1", "-subj", "/CN=127.0.0.1"], cwd=dir, check=True,
                   capture_output=True, timeout=30)
    return dir / "c.pem", dir / "k.pem"


# Each class of error `run` finds at startup beyond the options themselves:
# (the [run] lines after the first, what the error line says). The line
# number of the option named is checked: the first line is [run], so the
# culprit's line is `at` + 1.
CROSS = [
    ("conflict", ["url = ws://127.0.0.1:1/v2/iex", "stdout = yes",
                  "source = redis://127.0.0.1:1"], 3,
     "--source and --url exclude each other"),
    ("source+redis", ["source = redis://127.0.0.1:1", "redis = redis://127.0.0.1:1"], 1,
     "--source with --redis would publish back"),
    ("sentinel source", ["source = redis+sentinel://127.0.0.1:1/m", "listen = 127.0.0.1:0"], 1,
     "--source takes redis://, rediss://, unix:// or redis+cluster://"),
    ("redis url", ["url = ws://127.0.0.1:1/v2/iex", "redis = http://127.0.0.1:1"], 2, "--redis: "),
    ("rediss ca", ["url = ws://127.0.0.1:1/v2/iex", "redis = rediss://127.0.0.1:1",
                   "redis-ca-file = {tmp}/missing.pem"], 3,
     "--redis-ca-file '{tmp}/missing.pem': No such file"),
    ("upstream url", ["url = http://127.0.0.1:1/v2/iex", "stdout = yes"], 1,
     "scheme must be ws or wss"),
    ("polygon path", ["feed = polygon", "url = ws://127.0.0.1:1/v2/iex", "stdout = yes"], 2,
     "not a Polygon cluster"),
    ("quota", ["feed = alphavantage", "url = http://127.0.0.1:1/query", "stdout = yes",
               "quota = 5/fortnight"], 4, "--quota: expected N/WINDOW"),
    ("ca file", ["url = wss://127.0.0.1:1/v2/iex", "stdout = yes",
                 "ca-file = {tmp}/nope.pem"], 3, "--ca-file '{tmp}/nope.pem'"),
    ("subscribe", ["url = ws://127.0.0.1:1/v2/iex", "stdout = yes", "subscribe = trade=AAPL"], 3,
     "--subscribe: "),
    ("listen addr", ["url = ws://127.0.0.1:1/v2/iex", "listen = localhost"], 2,
     "bad --listen 'localhost'"),
    ("tls without listen", ["url = ws://127.0.0.1:1/v2/iex", "stdout = yes",
                            "listen-tls = 127.0.0.1:0"], 3, "--listen-tls needs --listen"),
    ("tls files", ["url = ws://127.0.0.1:1/v2/iex", "listen = 127.0.0.1:0",
                   "listen-tls = 127.0.0.1:0", "tls-cert = {tmp}/c.pem",
                   "tls-key = {tmp}/other.pem"], 4, "--tls-cert/--tls-key: certificate"),
    ("jwt key", ["url = ws://127.0.0.1:1/v2/iex", "listen = 127.0.0.1:0",
                 "jwt-public-key = {tmp}/c.pem"], 3, "--jwt-public-key: "),
    ("jwt both", ["url = ws://127.0.0.1:1/v2/iex", "listen = 127.0.0.1:0",
                  "jwt-hs256-secret = 0123456789abcdef0123456789abcdef",
                  "jwt-public-key = {tmp}/pub.pem"], 4,
     "--jwt-hs256-secret, --jwt-hs256-secret-file and --jwt-public-key: give one"),
    ("ha lease", ["url = ws://127.0.0.1:1/v2/iex", "stdout = yes", "ha-lease = feed1"], 3,
     "--ha-lease needs --redis"),
    ("refill", ["feed = polygon", "url = ws://127.0.0.1:1/stocks", "stdout = yes",
                "refill = bars,trades,news"], 4, "--refill: unknown kind 'news'"),
    ("refill cluster", ["feed = polygon", "url = ws://127.0.0.1:1/crypto", "stdout = yes",
                        "refill = bars,quotes"], 4, "the /stocks cluster only"),
    ("refill rate", ["url = ws://127.0.0.1:1/v2/iex", "stdout = yes",
                     "refill-rate = 5/fortnight"], 3, "--refill-rate '5/fortnight'"),
    ("metrics addr", ["url = ws://127.0.0.1:1/v2/iex", "stdout = yes",
                      "metrics-listen = 9100"], 3, "bad --metrics-listen '9100'"),
]


def test_check_config_runs_every_startup_check(tickerd_bin, tmp_path):
    """--check-config finds what `run` would refuse at startup, with the
    file:line of the option, and exits 2; `run` itself refuses the same
    configuration with the same line (one shared check)."""
    cert, key = self_signed(tmp_path)
    other = tmp_path / "other.pem"
    subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-out", str(other)], check=True,
                   capture_output=True, timeout=30)
    subprocess.run(["openssl", "pkey", "-in", str(other), "-pubout", "-out",
                    str(tmp_path / "pub.pem")], check=True, capture_output=True, timeout=30)
    conf = tmp_path / "t.conf"
    for name, lines, at, want in CROSS:
        text = "[run]\n" + "\n".join(lines).replace("{tmp}", str(tmp_path)) + "\n"
        want = want.replace("{tmp}", str(tmp_path))
        conf.write_text(text)
        # the same lines with a valid upstream/sink pass: the error is the line's
        r = run(tickerd_bin, "run", "--check-config", "-c", conf, env=ENV)
        assert r.returncode == 2, (name, r.stdout, r.stderr)
        errors = [l for l in r.stderr.splitlines() if " run E " in l]
        assert len(errors) == 1, (name, r.stderr)
        assert f"{conf}:{at + 1}: " in errors[0] and want in errors[0], (name, errors[0])
        assert "configuration ok" not in r.stdout
        if name in ("conflict", "tls files", "jwt key", "ha lease"):
            r2 = run(tickerd_bin, "run", "-c", conf, env=ENV)
            assert r2.returncode == 2, (name, r2.stderr)
            assert errors[0].split(" run E ")[1] in r2.stderr, (name, r2.stderr)
    # every error at once, not only the first
    conf.write_text("[run]\nsource = redis://127.0.0.1:1\nredis = redis+cluster://127.0.0.1:1\n"
                    "metrics-listen = 9100\nlisten = 127.0.0.1:0\nlisten-tls = 127.0.0.1:0\n")
    r = run(tickerd_bin, "run", "--check-config", "-c", conf, env=ENV)
    errors = [l for l in r.stderr.splitlines() if " run E " in l]
    assert r.returncode == 2 and len(errors) == 3, r.stderr
    # flags and the environment name no file line
    r = run(tickerd_bin, "run", "--check-config", "--url", "ws://127.0.0.1:1/v2/iex",
            "--source", "redis://127.0.0.1:1", env=ENV)
    assert r.returncode == 2 and " run E --source and --url exclude" in r.stderr, r.stderr
    # a valid TLS gateway passes
    conf.write_text(f"[run]\nurl = ws://127.0.0.1:1/v2/iex\nlisten = 127.0.0.1:0\n"
                    f"listen-tls = 127.0.0.1:0\ntls-cert = {cert}\ntls-key = {key}\n"
                    f"jwt-public-key = {tmp_path}/pub.pem\n[clients]\ndemo = demo\n")
    r = run(tickerd_bin, "run", "--check-config", "-c", conf, env=ENV)
    assert r.returncode == 0 and "configuration ok" in r.stdout, r.stderr


# ---- logs ---------------------------------------------------------------------------

def json_lines(proc):
    lines = [l for l in proc.stderr().decode().splitlines() if l.strip()]
    if shutil.which("jq"):  # as a log shipper reads it: every line on its own
        for line in lines:
            r = subprocess.run(["jq", "-c", "."], input=line, capture_output=True, text=True,
                               timeout=10)
            assert r.returncode == 0 and r.stdout.count("\n") == 1, (line, r.stderr)
    objs = []
    for line in lines:
        obj = json.loads(line)  # every line, one object
        assert set(obj) >= {"ts", "level", "component", "cmd", "msg"}, line
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", obj["ts"]), line
        assert obj["level"] in ("error", "warn", "info", "debug"), line
        objs.append(obj)
    return objs


def test_json_logs_parse_line_by_line_for_each_component(tickerd, tmp_path, redis, free_port):
    sim = tickerd.sim(rate=200, malformed_every=5, log_format="json")
    port = free_port()
    pub = tickerd.run(url=sim.url("/v2/iex"), redis=redis.url, listen=f"127.0.0.1:{port}",
                      client="k:s", subscribe="trades=*;quotes=*", log_format="json",
                      log_level="info,feed=debug", stats_interval=0.5, env=ENV)
    pub.wait_for_log(r"subscribed, streaming")
    pub.wait_for_log(r'"suppressed":\d+', timeout=15)
    pub.wait_for_log(r'"msg":"stats:', timeout=15)
    bf = run(tickerd.binary, "backfill", "--url", sim.url("", scheme="http"), "--symbols", "AAPL",
             "--start", "2024-01-02", "--end", "2024-01-03", "--timeframe", "1Day", "--rate", "0",
             "--store", f"sqlite:{tmp_path}/b.db", "--log-format", "json", "--log-level", "info",
             env=ENV)
    assert bf.returncode == 0, bf.stderr
    pub.stop()
    sim.stop()
    objs = json_lines(pub) + json_lines(sim)
    for line in bf.stderr.splitlines():
        obj = json.loads(line)
        assert obj["cmd"] == "backfill"
        objs.append(obj)
    components = {o["component"] for o in objs}
    assert {"run", "feed", "gateway", "sim", "backfill"} <= components, components
    assert any(o["level"] == "debug" and o["component"] == "feed" for o in objs)
    assert not any(o["level"] == "debug" and o["component"] != "feed" for o in objs)
    sup = [o for o in objs if "suppressed" in o]
    assert sup and all(f"{o['suppressed']} suppressed" in o["msg"] for o in sup)


def test_log_level_per_component_in_text(tickerd):
    sim = tickerd.sim(rate=100)
    pub = tickerd.run(url=sim.url("/v2/iex"), stdout=True, log_level="warn,feed=info", env=ENV)
    pub.wait_for_log(r"subscribed, streaming")  # feed: info
    pub.stop()
    assert b"caught SIGTERM" not in pub.stderr()  # run: warn only
    r = run(tickerd.binary, "run", "--log-level", "info,nosuch=debug", "--url", "ws://x")
    assert r.returncode == 2 and "unknown component 'nosuch'" in r.stderr
    r = run(tickerd.binary, "run", "--log-format", "xml", "--url", "ws://x")
    assert r.returncode == 2 and "bad --log-format 'xml'" in r.stderr


# ---- metrics and the dashboard ---------------------------------------------------------

def dashboard_series():
    """Every tickerd_* name in the dashboard: panel queries and variables."""
    dash = json.loads((REPO / "contrib/grafana/tickerd.json").read_text())
    texts = []

    def walk(o):
        if isinstance(o, dict):
            for v in o.values():
                walk(v)
        elif isinstance(o, list):
            for v in o:
                walk(v)
        elif isinstance(o, str):
            texts.append(o)
    walk(dash)
    series = set()
    for t in texts:
        series |= set(re.findall(r"\btickerd_[a-z_]+", t))
    assert len(series) > 10
    return series


def exposed(text):
    names = set()
    for line in text.splitlines():
        if line and not line.startswith("#"):
            names.add(re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line).group(0))
    return names


def test_dashboard_uses_only_exposed_series(tickerd, redis, free_port):
    sim = tickerd.sim(rate=300)
    gport, mport = free_port(), free_port()
    pub = tickerd.run(url=sim.url("/v2/iex"), redis=redis.url, subscribe="trades=*;quotes=*",
                      listen=f"127.0.0.1:{gport}", metrics_listen=f"127.0.0.1:{mport}",
                      client="k:s", env=ENV)
    harness.wait_port(mport, proc=pub)
    pub.wait_for_log(r"subscribed, streaming")
    time.sleep(0.5)
    # one WebSocket client, so the queue histogram has something to count
    ws = socket.create_connection(("127.0.0.1", gport), timeout=5)
    ws.sendall(b"GET /v2/iex HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
               b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
               b"Sec-WebSocket-Version: 13\r\n\r\n")
    assert b" 101 " in ws.recv(4096)
    status, text = http_get(f"http://127.0.0.1:{mport}/metrics")
    ws.close()
    assert status == 200
    assert "tickerd_clients 1" in text
    names = exposed(text)
    missing = dashboard_series() - names
    assert not missing, f"the dashboard uses series /metrics does not expose: {missing}"
    for want in ("tickerd_upstream_last_event_age_seconds", "tickerd_upstream_retries_total",
                 "tickerd_redis_inflight", "tickerd_events_in_total"):
        assert want in names, want
    age = re.search(r"tickerd_upstream_last_event_age_seconds\{[^}]*\} ([0-9.]+)", text)
    assert float(age.group(1)) < 5, text
    # every family's samples follow its TYPE line, together
    seen, last, hist = set(), None, False
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            last, hist = line.split()[2], line.split()[3] == "histogram"
            assert last not in seen, f"{last} declared twice"
            seen.add(last)
        elif line and not line.startswith("#"):
            name = re.match(r"[a-z_]+", line).group(0)
            if hist:
                name = re.sub(r"_(bucket|sum|count)$", "", name)
            assert name == last, line
    # the client queue histogram: cumulative buckets, +Inf == _count == clients
    buckets = [int(v) for v in
               re.findall(r'tickerd_client_queue_bytes_bucket\{le="[^"]+"\} (\d+)', text)]
    assert len(buckets) == 8 and buckets == sorted(buckets), text
    count = re.search(r"tickerd_client_queue_bytes_count (\d+)", text).group(1)
    assert buckets[-1] == int(count) == int(re.search(r"tickerd_clients (\d+)", text).group(1))
    ops = (REPO / "docs/OPERATIONS.md").read_text()
    for name in names:
        assert f"`{name}`" in ops, f"{name} is not described in docs/OPERATIONS.md"


def test_retries_counted_by_reason(tickerd, free_port):
    port = free_port()  # nothing listens there: connection refused
    pub = tickerd.run(url=f"ws://127.0.0.1:{free_port()}/v2/iex", stdout=True,
                      metrics_listen=f"127.0.0.1:{port}", backoff_min=0.05, backoff_max=0.1,
                      env=ENV)
    harness.wait_port(port, proc=pub)
    pub.wait_for_log(r"connect to .* failed", count=2)
    _, text = http_get(f"http://127.0.0.1:{port}/metrics")
    m = re.search(r'tickerd_upstream_retries_total\{url="[^"]+",reason="connect"\} (\d+)', text)
    assert m and int(m.group(1)) >= 2, text
    assert re.search(r'reason="resolve"\} 0', text)


# ---- the systemd unit -------------------------------------------------------------------

def unit_service(path):
    cp = configparser.RawConfigParser(strict=False, interpolation=None)
    cp.optionxform = str
    cp.read_string(path.read_text())
    return cp["Service"]


def test_installed_unit_runs_to_readiness_and_stops_cleanly(tickerd_bin, tickerd, tmp_path,
                                                            free_port):
    prefix = tmp_path / "prefix"
    r = subprocess.run(["cmake", "--install", str(tickerd_bin.parent), "--prefix", str(prefix)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    for f in ("share/man/man1/tickerd.1", "share/bash-completion/completions/tickerd",
              "etc/tickerd/tickerd.conf", "lib/systemd/system/tickerd-gateway@.service"):
        assert (prefix / f).is_file(), f
    unit = prefix / "lib/systemd/system/tickerd.service"
    svc = unit_service(unit)
    for key, want in (("DynamicUser", "yes"), ("ProtectSystem", "strict"),
                      ("NoNewPrivileges", "yes"), ("CapabilityBoundingSet", ""),
                      ("Restart", "on-failure"), ("Type", "notify")):
        assert svc.get(key) == want, (key, svc.get(key))
    # the operator's configuration, where the unit takes it from
    sim = tickerd.sim(rate=100)
    gw = free_port()
    name, source = svc["LoadCredential"].split(":", 1)
    assert source.startswith(str(prefix))
    with open(source, "w") as f:
        f.write(f"[run]\nurl = {sim.url('/v2/iex')}\nlisten = 127.0.0.1:{gw}\n"
                "subscribe = trades=*\n[clients]\ndemo = demo\n")
    os.chmod(source, 0o600)
    r = run(prefix / "bin/tickerd", "run", "--check-config", "-c", source, env=ENV)
    assert r.returncode == 0, r.stderr
    creds = tmp_path / "credentials"  # what LoadCredential= gives the service
    creds.mkdir()
    shutil.copy(source, creds / name)
    env_file = svc["EnvironmentFile"].lstrip("-")
    assert env_file.startswith(str(prefix))
    with open(env_file, "w") as f:
        f.write("APCA_API_KEY_ID=k\nAPCA_API_SECRET_KEY=s\n")
    env = dict(l.split("=", 1) for l in open(env_file).read().split())
    env["CREDENTIALS_DIRECTORY"] = str(creds)
    argv = [re.sub(r"\$\{(\w+)\}", lambda m: env[m.group(1)], a)
            for a in shlex.split(svc["ExecStart"].lstrip("-@+!"))]
    assert argv[0] == str(prefix / "bin/tickerd")
    notify = tmp_path / "notify.sock"
    ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    ns.bind(str(notify))
    ns.settimeout(15)
    env.update({"NOTIFY_SOCKET": str(notify), "WATCHDOG_USEC": "400000"})
    p = harness.Proc(argv, tmp_path, "unit", env=env, port=gw)
    p.start()
    tickerd.procs.append(p)  # stopped and checked (exit 0, no sanitizer report)
    try:
        got = []
        while not any("READY=1" in m for m in got):
            got.append(ns.recv(4096).decode())
        assert "STATUS=streaming from 1 upstream" in got[-1]
        assert b"subscribed, streaming" in p.stderr()
        status, body = http_get(f"http://127.0.0.1:{gw}/healthz")
        assert status == 200 and json.loads(body)["status"] == "ok"
        assert ns.recv(4096).decode() == "WATCHDOG=1"  # within WATCHDOG_USEC / 2
        p.signal(signal.SIGTERM)
        while True:
            msg = ns.recv(4096).decode()
            if msg != "WATCHDOG=1":
                break
        assert msg == "STOPPING=1"
        assert p.popen.wait(timeout=15) == 0, p.describe()
    finally:
        ns.close()


# ---- the container ---------------------------------------------------------------------

def test_container_files_build_as_the_makefile_does():
    dockerfile = (REPO / "Dockerfile").read_text()
    compose = (REPO / "docker-compose.yml").read_text()
    makefile = (REPO / "Makefile").read_text()
    # the release build: the pattern rule's configure, then build-release's build
    configure = re.search(r"^\t.*?(cmake --preset )\$\*", makefile, re.M).group(1) + "release"
    build = re.search(r"^build-release:.*\n(?:\t.*\n)*?\t.*?(cmake --build --preset release)",
                      makefile, re.M).group(1)
    run_lines = " ".join(re.findall(r"^RUN ((?:[^\n]*\\\n)*[^\n]*)", dockerfile, re.M))
    cmakes = re.findall(r"cmake --[^&\\\n]*[^&\\\n ]", run_lines)
    assert cmakes == [configure, build], cmakes
    # the packages scripts/deps.sh installs to build
    deps = (REPO / "scripts/deps.sh").read_text()
    pkgs = re.search(r"build_pkgs=\(([^)]*)\)", deps).group(1).split()
    build_stage = dockerfile.split("\nFROM ", 2)[1]
    for p in pkgs:
        assert re.search(rf"\s{re.escape(p)}\s", build_stage), p
    final = dockerfile.split("\nFROM ")[-1]
    assert final.startswith("debian:12-slim") and "\nUSER " in final
    assert "COPY --from=build /src/build/release/tickerd " in final
    assert re.findall(r"^COPY", final, re.M) == ["COPY", "COPY"]  # the binary and web/ only
    assert compose.count("--source") == 2 and "redis:" in compose


def test_container_image_builds():
    import pytest
    if not shutil.which("docker") or subprocess.run(["docker", "info"], capture_output=True,
                                                    timeout=30).returncode != 0:
        pytest.skip("docker is absent (no docker engine here): the image is not built")
    r = subprocess.run(["docker", "build", "-q", "-t", "tickerd-test", str(REPO)],
                       capture_output=True, text=True, timeout=1800)
    assert r.returncode == 0, r.stderr
    r = subprocess.run(["docker", "run", "--rm", "tickerd-test", "--version"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.startswith("tickerd "), r.stdout + r.stderr


# ---- make dist ---------------------------------------------------------------------------

def test_dist_tarball_builds_with_the_readme_commands(tmp_path):
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True,
                          text=True).stdout.strip()
    r = subprocess.run(["make", "-s", "dist"], cwd=REPO, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    tarball = REPO / r.stdout.strip().splitlines()[-1]
    assert tarball.name.endswith(".tar.gz") and tarball.is_file()
    subprocess.run(["tar", "-xzf", str(tarball), "-C", str(tmp_path)], check=True, timeout=60)
    src = tmp_path / tarball.name[:-len(".tar.gz")]
    assert (src / "README.md").is_file() and not (src / ".git").exists()
    # what `make run` and `make test` start with: the release build (no test suite here)
    r = subprocess.run(["make", "build-release"], cwd=src, capture_output=True, text=True,
                       timeout=1500)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    out = subprocess.run([str(src / "build/release/tickerd"), "--version"], capture_output=True,
                         text=True, timeout=10).stdout
    assert f"(commit {head[:12]})" in out, out  # recorded by git archive
