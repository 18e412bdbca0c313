"""A throwaway PostgreSQL cluster for the tests: initdb into a temporary
folder, a server on a unix socket there (no TCP port), stopped at the end.
As root (CI), the server runs as the ``postgres`` user (initdb refuses root).

A machine without PostgreSQL fails these tests instead of skipping them:
``.ci/run`` installs Debian's ``postgresql`` package when it is missing.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from pathlib import Path


def bindir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise RuntimeError("PostgreSQL is not installed (Debian: apt-get install postgresql); "
                       "the PostgreSQL ledger tests need a real server")


def _as_server_user(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def start(folder: Path) -> tuple[str, callable]:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    data = folder / "data"
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
        os.chmod(folder, 0o755)
    b = bindir()
    run = lambda cmd: subprocess.run(_as_server_user(cmd), check=True, capture_output=True, text=True,  # noqa: E731
                                     timeout=120)
    run([str(b / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync"])
    run([str(b / "pg_ctl"), "-D", str(data), "-l", str(folder / "server.log"), "-w", "-t", "60", "-o",
         f"-k {folder} -c listen_addresses='' -c fsync=off -c max_connections=200", "start"])

    def stop() -> None:
        subprocess.run(_as_server_user([str(b / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]),
                       capture_output=True, timeout=60)

    return f"postgresql://postgres@/postgres?host={folder}", stop
