#!/usr/bin/env python3
"""Set-up and quick start for NTM Atlas, needing nothing but python3.

    python3 dev.py demo    build the demo store (once) and start the app on http://127.0.0.1:8000
    python3 dev.py test    run the whole test suite
    python3 dev.py bench   run the benchmarks (bench/run.py; arguments pass through)

Each command creates or updates the virtual environment in .venv (re-installing only
when pyproject.toml changed), fetches the page assets (Leaflet, …) from the npm
registry once, and installs the Debian packages the tests need (when run as root or
with sudo). Extra arguments after ``test`` go to pytest.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PY = VENV / "bin" / "python"
STAMP = VENV / ".ntm-install-sha256"
DEMO_STORE = ROOT / "var" / "ntm.gpkg"
# Debian packages the test suite uses (browser tests, PDF rendering, Vietnamese fonts).
APT_PACKAGES: list[str] = ["chromium", "poppler-utils", "fonts-dejavu-core"]
# The benchmarks also load-test with wrk and run pygeoapi on Debian's python3 + mod_spatialite.
BENCH_APT_PACKAGES: list[str] = ["wrk", "libsqlite3-mod-spatialite", "python3-venv"]


def say(msg: str) -> None:
    print(f"[dev.py] {msg}", file=sys.stderr, flush=True)


def run(cmd: list[str], **kwargs) -> None:
    subprocess.run(cmd, check=True, **kwargs)


def ensure_venv() -> None:
    if not PY.exists():
        say("creating .venv")
        try:
            run([sys.executable, "-m", "venv", str(VENV)])
        except subprocess.CalledProcessError:
            say("python3 -m venv failed (Debian without python3-venv?); trying virtualenv")
            shutil.rmtree(VENV, ignore_errors=True)
            run([sys.executable, "-m", "pip", "install", "--user", "--quiet", "virtualenv"])
            run([sys.executable, "-m", "virtualenv", str(VENV)])
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    say("installing NTM Atlas and its dependencies into .venv")
    run([str(PY), "-m", "pip", "install", "--quiet", "--upgrade", "pip"])
    run([str(PY), "-m", "pip", "install", "--quiet", "-e", f"{ROOT}[dev]"])
    STAMP.write_text(wanted)


def ensure_apt(packages: list[str] = APT_PACKAGES) -> None:
    missing = [p for p in packages if subprocess.run(
        ["dpkg", "-s", p], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode != 0]
    if not missing:
        return
    sudo = [] if os.geteuid() == 0 else (["sudo"] if shutil.which("sudo") else None)
    if sudo is None or not shutil.which("apt-get"):
        say(f"please install these Debian packages: {' '.join(missing)}")
        return
    say(f"installing Debian packages: {' '.join(missing)}")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    run([*sudo, "apt-get", "update", "-qq"], env=env)
    run([*sudo, "apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing], env=env)


def ntm(*args: str) -> list[str]:
    return [str(VENV / "bin" / "ntm"), *args]


def setup(*, apt: bool) -> None:
    ensure_venv()
    if apt:
        ensure_apt()
    run(ntm("assets", "fetch"))


def demo(args: list[str]) -> int:
    setup(apt=False)
    env = dict(os.environ, NTM_STORE=str(DEMO_STORE))
    if "--rebuild" in args or not DEMO_STORE.exists():
        say(f"building the demo store {DEMO_STORE}")
        run(ntm("demo", "build", "--force"), env=env)
    say("starting NTM Atlas on http://127.0.0.1:8000 (Ctrl+C to stop)")
    return subprocess.run(ntm("serve", "--host", "127.0.0.1", "--port", "8000"), env=env).returncode


def bench(args: list[str]) -> int:
    setup(apt=True)
    ensure_apt(BENCH_APT_PACKAGES)
    return subprocess.run([str(PY), str(ROOT / "bench" / "run.py"), *args], cwd=ROOT).returncode


def test(args: list[str]) -> int:
    setup(apt=True)
    code = subprocess.run([str(PY), "-m", "pytest", *args], cwd=ROOT).returncode
    if code == 5:
        say("pytest collected no tests: that is a failure")
    return code


def main() -> int:
    commands = {"demo": demo, "test": test, "bench": bench}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        print(__doc__)
        return 2
    return commands[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
