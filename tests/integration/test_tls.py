# SPDX-License-Identifier: Apache-2.0
"""tickerd run over wss:// against `tickerd sim --tls-cert/--tls-key`, with real
certificate verification: a throwaway CA and server certificate are made with
the openssl CLI (EC P-256, valid one day, subjectAltName IP:127.0.0.1 and
DNS:localhost); tickerd trusts exactly --ca-file, checks the name in the URL
against the certificate, and on a refused certificate says so and keeps
retrying."""
import json
import subprocess
import time

import pytest

from harness import event_channels, read_record

KEYS = {"APCA_API_KEY_ID": "PKTEST", "APCA_API_SECRET_KEY": "s3cr3t"}
SUBS = "trades=*;quotes=*;bars=*;statuses=*"
CERT_REFUSED = r"connect failed: TLS certificate verification failed for 127\.0\.0\.1"


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=30)


def make_ca(dir, name):
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", f"{name}.key", "-out", f"{name}.pem", "-days", "1",
            "-subj", f"/CN=tickerd test {name}",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=dir)
    return dir / f"{name}.pem"


def make_server_cert(dir, ca, name, san, serial):
    (dir / f"{name}.ext").write_text(f"subjectAltName={san}\nbasicConstraints=CA:FALSE\n"
                                     "keyUsage=critical,digitalSignature\n"
                                     "extendedKeyUsage=serverAuth\n")
    openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", "/CN=localhost", cwd=dir)
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
            "-set_serial", str(serial), "-days", "1",
            "-extfile", f"{name}.ext", "-out", f"{name}.pem", cwd=dir)
    return dir / f"{name}.pem", dir / f"{name}.key"


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    d = tmp_path_factory.mktemp("pki")
    make_ca(d, "ca")
    make_ca(d, "otherca")
    cert, key = make_server_cert(d, "ca", "server", "IP:127.0.0.1,DNS:localhost", 1)
    wrong_cert, wrong_key = make_server_cert(d, "ca", "wrongname", "DNS:example.com", 2)
    return {"dir": d, "ca": d / "ca.pem", "otherca": d / "otherca.pem",
            "cert": cert, "key": key, "wrong_cert": wrong_cert, "wrong_key": wrong_key}


def tls_sim(tickerd, pki, cert="cert", key="key", **opts):
    return tickerd.sim(tls_cert=pki[cert], tls_key=pki[key], **opts)


def start_run(tickerd, sim, ca_file=None, env=None, path="/v2/iex", **opts):
    opts.setdefault("subscribe", SUBS)
    opts.setdefault("stats_interval", 0.5)
    opts.setdefault("backoff_min", 0.05)
    opts.setdefault("backoff_max", 0.3)
    return tickerd.run(url=sim.url(path, scheme="wss"), ca_file=ca_file, stdout=True,
                       env={**KEYS, **(env or {})}, **opts)


def assert_refused_and_retrying(run, sim):
    run.wait_for_log(CERT_REFUSED, count=3, timeout=15)
    assert run.poll() is None, "a refused certificate must not stop tickerd"
    assert run.count_log(r"upstream \S+: connected") == 0
    assert run.stdout() == b"", "nothing may stream over an unverified connection"
    assert sim.count_log(r"conn #\d+ open") == 0, "the WebSocket upgrade must not happen"


def test_wss_stream_is_exactly_what_the_sim_sent(tickerd, pki, tmp_path):
    rec = tmp_path / "sim.jsonl"
    sim = tls_sim(tickerd, pki, record=rec, rate=2000, count=1500, symbols=8)
    sim.wait_for_log(r"listening on wss://127\.0\.0\.1:\d+ ")
    run = start_run(tickerd, sim, ca_file=pki["ca"])
    run.wait_for_log(r"subscribed, streaming", timeout=15)
    sim.wait_for_log(r"--count 1500 reached", timeout=30)
    record = [ev for ev in read_record(rec) if event_channels(ev)]
    assert len(record) > 1000
    deadline = time.monotonic() + 10
    while len(run.stdout_lines()) < len(record) and time.monotonic() < deadline:
        time.sleep(0.05)
    lines = run.stdout_lines()
    assert len(lines) == len(record)
    for line, ev in zip(lines, record):
        obj = json.loads(line)
        assert obj["channel"] == event_channels(ev)[0]
        assert json.dumps(obj["data"], separators=(",", ":"), ensure_ascii=False).encode() == ev
    assert run.count_log(r"upstream \S+: connected") == 1
    assert run.count_log(r"connect failed") == 0


def test_localhost_name_verifies_too(tickerd, pki):
    sim = tls_sim(tickerd, pki, rate=500, symbols=3)
    run = tickerd.run(url=f"wss://localhost:{sim.port}/v2/iex", ca_file=pki["ca"], stdout=True,
                      env=KEYS, subscribe="quotes=*", stats_interval=0)
    run.wait_for_log(r"subscribed, streaming", timeout=15)
    deadline = time.monotonic() + 10
    while len(run.stdout_lines()) < 20 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(run.stdout_lines()) >= 20


def test_other_ca_is_refused_and_retried(tickerd, pki):
    sim = tls_sim(tickerd, pki, rate=500, symbols=3)
    run = start_run(tickerd, sim, ca_file=pki["otherca"])
    assert_refused_and_retrying(run, sim)
    assert run.count_log(CERT_REFUSED + r": unable to get local issuer certificate") >= 3
    assert run.count_log(r"reconnecting in [0-9.]+s") >= 3


def test_ca_file_replaces_the_system_store(tickerd, pki):
    # OpenSSL's default store honours SSL_CERT_FILE: with the right CA there
    # and the wrong one in --ca-file, the certificate must still be refused.
    sim = tls_sim(tickerd, pki, rate=500, symbols=3)
    run = start_run(tickerd, sim, ca_file=pki["otherca"], env={"SSL_CERT_FILE": str(pki["ca"])})
    assert_refused_and_retrying(run, sim)
    # Without --ca-file the system store (here: SSL_CERT_FILE) is used.
    ok = start_run(tickerd, sim, env={"SSL_CERT_FILE": str(pki["ca"])}, name="system-store")
    ok.wait_for_log(r"subscribed, streaming", timeout=15)


def test_certificate_for_another_name_is_refused(tickerd, pki):
    sim = tls_sim(tickerd, pki, cert="wrong_cert", key="wrong_key", rate=500, symbols=3)
    run = start_run(tickerd, sim, ca_file=pki["ca"])
    assert_refused_and_retrying(run, sim)
    assert run.count_log(CERT_REFUSED + r": IP address mismatch") >= 3


def test_missing_ca_file_is_a_config_error(tickerd, pki, tmp_path):
    sim = tls_sim(tickerd, pki)
    run = start_run(tickerd, sim, ca_file=tmp_path / "nope.pem")
    assert run.popen.wait(10) == 2
    assert b"--ca-file" in run.stderr() and b"No such file" in run.stderr()


def test_sim_tls_options_are_checked(tickerd, pki, tmp_path):
    half = tickerd.sim(wait=False, tls_cert=pki["cert"])
    assert half.popen.wait(10) == 2
    assert b"--tls-cert and --tls-key go together" in half.stderr()
    (tmp_path / "garbage.pem").write_text("not a certificate\n")
    bad = tickerd.sim(wait=False, tls_cert=tmp_path / "garbage.pem", tls_key=pki["key"])
    assert bad.popen.wait(10) == 1
    assert b"with TLS (check --tls-cert" in bad.stderr()
    mismatch = tickerd.sim(wait=False, tls_cert=pki["cert"], tls_key=pki["wrong_key"])
    assert mismatch.popen.wait(10) == 1
    # A listener that cannot bind is an error too (it used to log "listening").
    first = tls_sim(tickerd, pki)
    busy = tickerd.sim(wait=False, listen=first.addr, tls_cert=pki["cert"], tls_key=pki["key"])
    assert busy.popen.wait(10) == 1
    assert b"cannot listen on" in busy.stderr()


def test_sim_help_documents_tls(tickerd_bin):
    out = subprocess.run([tickerd_bin, "sim", "--help"], capture_output=True, timeout=10)
    assert out.returncode == 0
    assert b"--tls-cert PEM" in out.stdout + out.stderr
    assert b"--tls-key PEM" in out.stdout + out.stderr
