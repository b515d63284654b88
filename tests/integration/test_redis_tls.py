# SPDX-License-Identifier: Apache-2.0
"""tickerd's Redis connection over TLS (rediss://, to redis-server's
--tls-port, with a throwaway CA made by the openssl CLI) and over a unix
socket: events arrive; a server certificate from another CA, or for another
name, is refused with one clear line and retried; a Redis that asks for a
client certificate gets --redis-cert/--redis-key."""
import time

from harness import redis_tls_conf, redis_unix_conf
from test_redis_auth import check_delivery, health, start
from test_run_redis import wait_sim_done
from test_tls import make_ca, make_server_cert, openssl, pki  # noqa: F401 (fixture)

PATTERNS = ("trades.*", "quotes.*")


def deliver(tickerd, redis, redis_collector, tmp_path, url, **opts):
    rec = tmp_path / "sim.jsonl"
    sim = tickerd.sim(record=rec, rate=3000, count=3000, symbols=6)
    coll = redis_collector(redis, patterns=PATTERNS)
    run = start(tickerd, sim, url, **opts)
    wait_sim_done(sim, 3000)
    check_delivery(coll, rec, PATTERNS)
    assert health(run)[1]["redis"] == "up"
    return run


def test_rediss_verified_by_ca_file(tickerd, redis_server, redis_collector, pki, tmp_path):
    conf, tls_port = redis_tls_conf(pki["cert"], pki["key"], pki["ca"])
    redis = redis_server(**conf)
    run = deliver(tickerd, redis, redis_collector, tmp_path, f"rediss://127.0.0.1:{tls_port}",
                  redis_ca_file=pki["ca"])
    run.wait_for_log(rf"redis rediss://127\.0\.0\.1:{tls_port}: connected")


def test_rediss_certificate_from_another_ca_is_refused(tickerd, redis_server, pki):
    conf, tls_port = redis_tls_conf(pki["cert"], pki["key"], pki["ca"])
    redis = redis_server(**conf)
    sim = tickerd.sim(rate=500)
    run = start(tickerd, sim, f"rediss://127.0.0.1:{tls_port}", redis_ca_file=pki["otherca"])
    run.wait_for_log(r"TLS: server certificate refused: (unable to get local issuer|self-signed)")
    time.sleep(1.5)
    assert run.count_log("certificate refused") == 1 and run.poll() is None
    status, h = health(run)
    assert status == 503 and h["redis"] == "down"
    assert redis.client().info("stats")["total_connections_received"] >= 2  # retried


def test_rediss_certificate_for_another_name_is_refused(tickerd, redis_server, pki):
    conf, tls_port = redis_tls_conf(pki["wrong_cert"], pki["wrong_key"], pki["ca"])
    redis_server(**conf)
    sim = tickerd.sim(rate=500)
    run = start(tickerd, sim, f"rediss://127.0.0.1:{tls_port}", redis_ca_file=pki["ca"])
    run.wait_for_log(r"TLS: server certificate refused: (IP address|hostname) mismatch")


def make_client_cert(dir, ca):
    (dir / "client.ext").write_text("basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n")
    openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", "client.key", "-out", "client.csr", "-subj", "/CN=tickerd", cwd=dir)
    openssl("x509", "-req", "-in", "client.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
            "-set_serial", "7", "-days", "1", "-extfile", "client.ext", "-out", "client.pem",
            cwd=dir)
    return dir / "client.pem", dir / "client.key"


def test_rediss_client_certificate(tickerd, redis_server, redis_collector, pki, tmp_path):
    cert, key = make_client_cert(pki["dir"], "ca")
    conf, tls_port = redis_tls_conf(pki["cert"], pki["key"], pki["ca"])
    conf["tls_auth_clients"] = "yes"
    redis = redis_server(**conf)
    deliver(tickerd, redis, redis_collector, tmp_path, f"rediss://127.0.0.1:{tls_port}",
            redis_ca_file=pki["ca"], redis_cert=cert, redis_key=key)


def test_unix_socket(tickerd, redis_server, redis_collector, tmp_path):
    conf, path = redis_unix_conf(tmp_path)
    redis = redis_server(**conf)
    run = deliver(tickerd, redis, redis_collector, tmp_path, f"unix://{path}?db=0")
    run.wait_for_log(rf"redis unix://{path}\?db=0: connected")
