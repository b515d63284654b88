# SPDX-License-Identifier: Apache-2.0
"""libtickerd (include/tickerd/tickerd.h) through its examples, against
`tickerd sim` for both vendors (Alpaca /v2/iex, Polygon /stocks): subscribe,
unsubscribe and handler changes while streaming, automatic and custom
reconnects that restore subscriptions and handlers, a clean close. The
examples are built next to tickerd and run with the sanitizer environment;
a sanitizer report or a non-zero exit fails the test."""

import re
import signal
from pathlib import Path

import pytest

import harness

VENDORS = {"alpaca": [], "polygon": ["--polygon"]}


def example(tickerd_bin, name):
    path = Path(tickerd_bin).parent / name
    if not path.is_file():
        pytest.fail(f"example {name} not built next to {tickerd_bin}", pytrace=False)
    return path


def run_example(tickerd_bin, tmp_path, name, *args, timeout=30, env=None):
    """Runs an example to its end; returns its stdout lines (str). Fails on
    a non-zero exit or a sanitizer report."""
    p = harness.Proc([example(tickerd_bin, name), *args], tmp_path, name, env=env)
    p.start()
    try:
        p.popen.wait(timeout)
    except Exception:
        p.kill()
        raise AssertionError(f"{name} did not finish within {timeout}s" + p.describe())
    assert p.returncode == 0, f"{name} exited {p.returncode}" + p.describe()
    assert not p.sanitizer_reports(), p.describe(8000)
    return [line.decode() for line in p.stdout_lines()]


def done_fields(lines):
    last = [line for line in lines if line.startswith("# done ")]
    assert last, "no '# done' line:\n" + "\n".join(lines[-20:])
    return dict(kv.split("=", 1) for kv in last[-1][len("# done "):].split())


def states(lines):
    return [line.split(" ", 3)[3] for line in lines if line.startswith("# state ")]


@pytest.mark.parametrize("vendor", VENDORS)
def test_print_quotes(tickerd, tickerd_bin, tmp_path, vendor):
    sim = tickerd.sim(rate=2000, symbols=4)
    lines = run_example(tickerd_bin, tmp_path, "print_quotes", *VENDORS[vendor], "--events", "30",
                        "--seconds", "20", sim.url(), "AAPL", "MSFT")
    quotes = [line for line in lines if line.startswith("quotes ")]
    assert len(quotes) == 30 and done_fields(lines)["events"] == "30"
    pat = re.compile(r"quotes (AAPL|MSFT) bid=(\S+) x (\d+) ask=(\S+) x (\d+) t=(\d+)$")
    for q in quotes:
        m = pat.match(q)
        assert m, q
        bid, ask, t = float(m.group(2)), float(m.group(4)), int(m.group(6))
        assert 0 < bid <= ask and t > 1_500_000_000 * 10**9, q
    assert {pat.match(q).group(1) for q in quotes} == {"AAPL", "MSFT"}
    assert states(lines) == ["connecting", "streaming", "closed"]


@pytest.mark.parametrize("vendor", VENDORS)
def test_change_handler_and_unsubscribe_while_streaming(tickerd, tickerd_bin, tmp_path, vendor):
    sim = tickerd.sim(rate=2000, symbols=4)
    lines = run_example(tickerd_bin, tmp_path, "change_handler", *VENDORS[vendor],
                        "--switch-after", "40", "--seconds", "20", sim.url())
    d = {k: int(v) for k, v in done_fields(lines).items()}
    assert d["a"] == 40 and d["b"] >= 40, d      # both handlers got their share
    assert d["a_after"] == 0, d                  # the old handler got nothing after the switch
    assert d["b_msft"] == 0, d                   # nothing of the unsubscribed symbol
    assert d["trades"] >= 1, d                   # the service subscribed while streaming
    assert d["unpriced"] == 0, d                 # tickerd_event_price on every trade
    assert states(lines)[-1] == "closed"


@pytest.mark.parametrize("vendor", VENDORS)
def test_auto_reconnect_restores_subscriptions(tickerd, tickerd_bin, tmp_path, vendor):
    sim = tickerd.sim(rate=2000, symbols=4, drop_every=1)
    lines = run_example(tickerd_bin, tmp_path, "print_quotes", *VENDORS[vendor], "--seconds",
                        "3.6", sim.url(), "AAPL")
    st = states(lines)
    assert st.count("reconnecting") >= 2, st
    # events on every connection, before and after each reconnect
    epochs, n = [], 0
    for line in lines:
        if line.endswith(" streaming"):
            epochs.append(0)
        elif line.startswith("quotes "):
            assert line.startswith("quotes AAPL "), line
            epochs[-1] += 1
    assert len(epochs) >= 3 and all(e > 0 for e in epochs[:-1]), epochs
    assert st[-1] == "closed"


@pytest.mark.parametrize("vendor", VENDORS)
def test_custom_reconnect_policy(tickerd, tickerd_bin, tmp_path, vendor):
    sim = tickerd.sim(rate=2000, symbols=4, drop_every=1)
    lines = run_example(tickerd_bin, tmp_path, "custom_reconnect", *VENDORS[vendor],
                        "--reconnects", "2", "--seconds", "20", sim.url(), "AAPL", "MSFT")
    st = states(lines)
    assert "reconnecting" not in st, st  # automatic reconnect is off
    assert st.count("disconnected: connection lost") >= 2, st
    d = done_fields(lines)
    assert d["reconnects"] == "2", d
    epochs = [int(x) for x in d["epochs"].split(",")]
    assert len(epochs) == 3 and all(e > 0 for e in epochs), epochs  # handler survived


def test_retry_limit_gives_up(tickerd_bin, tmp_path):
    port = harness.free_port()  # nothing listens there
    lines = run_example(tickerd_bin, tmp_path, "print_quotes", "--max-retries", "2", "--seconds",
                        "3", f"ws://127.0.0.1:{port}", "AAPL")
    st = states(lines)
    assert st.count("disconnected: connect failed") == 2, st
    assert st.count("reconnecting") == 2, st
    assert "disconnected: connect failed; giving up after 3 attempts" in st, st
    assert st[-1] == "closed"


def test_close_on_sigterm_is_clean(tickerd, tickerd_bin, tmp_path):
    sim = tickerd.sim(rate=2000, symbols=4)
    p = harness.Proc([example(tickerd_bin, "print_quotes"), sim.url(), "AAPL", "MSFT"], tmp_path,
                     "print_quotes")
    p.start()
    p.wait_for_log(r"(?m)^quotes ", stream="stdout", count=20)
    p.signal(signal.SIGTERM)
    p.popen.wait(10)
    assert p.returncode == 0, p.describe()
    assert not p.sanitizer_reports(), p.describe(8000)
    lines = [line.decode() for line in p.stdout_lines()]
    assert states(lines)[-1] == "closed" and lines[-1].startswith("# done events=")
