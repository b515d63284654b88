# SPDX-License-Identifier: Apache-2.0
"""Command-line and config-file behaviour of the tickerd binary."""
import os
import re
import subprocess


def run(bin, *args, env=None, timeout=10):
    return subprocess.run([str(bin), *map(str, args)], capture_output=True, timeout=timeout,
                          env=env, text=True)


def test_help_lists_every_option(tickerd_bin):
    top = run(tickerd_bin, "--help")
    assert top.returncode == 0 and "run" in top.stdout and "sim" in top.stdout
    for cmd in ("run", "sim", "backfill"):
        h = run(tickerd_bin, cmd, "--help")
        assert h.returncode == 0
        flags = re.findall(r"--(?:\[no-\])?([a-z][a-z-]+)", h.stdout)
        assert len(flags) > 8
        table = f"src/cmd/{cmd}_opts.c"  # the options table, where it has its own file
        path = table if os.path.exists(table) else f"src/cmd/{cmd}.c"
        names = re.findall(r'\{"([a-z-]+)", TD_OPT_', open(path).read())
        assert len(names) > 8, f"no option table found in {path}"
        for name in names:
            assert name in flags, f"--{name} missing from tickerd {cmd} --help"


def test_unknown_command_and_option(tickerd_bin):
    assert run(tickerd_bin, "frobnicate").returncode == 2
    r = run(tickerd_bin, "run", "--no-such-flag", "1")
    assert r.returncode == 2 and "unknown option --no-such-flag" in r.stderr


def test_config_errors_name_file_and_line(tickerd_bin, tmp_path):
    conf = tmp_path / "t.conf"
    conf.write_text("[run]\nurl = ws://127.0.0.1:1/v2/iex\nbogus = 1\n")
    r = run(tickerd_bin, "run", "-c", conf)
    assert r.returncode == 2 and f"{conf}:3: unknown key 'bogus'" in r.stderr
    conf.write_text("[run]\n\nping-timeout = soon\n")
    r = run(tickerd_bin, "run", "-c", conf)
    assert r.returncode == 2 and f"{conf}:3: bad value for 'ping-timeout'" in r.stderr
    conf.write_text("[sim]\nrate = 10\n[nonsense]\nx = 1\n")
    r = run(tickerd_bin, "sim", "-c", conf)
    assert r.returncode == 2 and f"{conf}:4: unknown section [nonsense]" in r.stderr


def test_example_config_is_valid(tickerd_bin):
    # Every section of the shipped example parses (run fails later, on the
    # missing upstream: the example sets nothing).
    r = run(tickerd_bin, "run", "-c", "examples/tickerd.conf", env={"PATH": "/usr/bin"})
    assert "examples/tickerd.conf:" not in r.stderr, r.stderr
    assert "no upstream" in r.stderr
    r = run(tickerd_bin, "sim", "-c", "examples/tickerd.conf", "--help")
    assert r.returncode == 0


def test_secret_flag_warns(tickerd_bin):
    r = run(tickerd_bin, "run", "--secret", "hunter2", "--url", "bad://x")
    assert "visible to other users" in r.stderr
    assert "hunter2" not in r.stderr
