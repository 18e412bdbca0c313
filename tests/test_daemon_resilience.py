"""``spi post schedule`` as a real process under the things that happen to a
daemon in production: a SIGHUP while it starts, its ledger deleted or
emptied under it, ``posts/`` replaced by a deploy, files renamed during a
burst. Each test names why it failed on the engine before the rewrite
(commit c359636)."""

from __future__ import annotations

import shutil
import signal
import subprocess
import threading
import time
from datetime import timedelta
from pathlib import Path


from _support import load_plugin

kit = load_plugin("spi_testkit")


_log = kit.schedule_log


# ----- 17. SIGHUP while starting -----------------------------------------------------------

def test_sighup_while_starting_does_not_kill_the_daemon(tmp_path):
    """A SIGHUP (systemd's ExecReload, a deploy script) that arrives while
    the daemon is still importing used to kill it with exit 129: the
    handler was installed only in Daemon.run, ~0.25 s after start here and
    seconds on a loaded Raspberry Pi. The moment is taken from the
    interpreter itself (PYTHONPROFILEIMPORTTIME reports each finished import
    on stderr): the signal is sent right after ``click`` was imported, long
    before the daemon's own set-up, so the test does not depend on timing.
    On c359636 the process dies of SIGHUP."""
    kit.write_config(tmp_path, kit.file_accounts(["a"]))
    env = kit.env() | {"PYTHONPROFILEIMPORTTIME": "1"}
    log = open(tmp_path / "schedule.log", "ab")
    proc = subprocess.Popen([kit.SPI, "--config", str(tmp_path / "config.yaml"), "post", "schedule",
                             "--no-watch"], cwd=tmp_path, env=env, stdout=log, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        sent = threading.Event()

        def drain():
            for raw in proc.stderr:
                line = raw.decode(errors="replace")
                if not sent.is_set() and line.split("|")[-1].strip() == "click":
                    proc.send_signal(signal.SIGHUP)
                    sent.set()
                elif "import time:" not in line:
                    log.write(raw)
                    log.flush()

        t = threading.Thread(target=drain, daemon=True)
        t.start()
        assert sent.wait(20), "the import of click was never reported"
        # a second one a little later, still during start-up
        time.sleep(0.02)
        if proc.poll() is None:
            proc.send_signal(signal.SIGHUP)
        ready = kit.wait_for(lambda: "spi schedule:" in _log(tmp_path) or proc.poll() is not None, timeout=20)
        assert ready and proc.poll() is None, (proc.returncode, _log(tmp_path))
        # the daemon works: a post written now is published (the early SIGHUP's
        # reload or the start-up read finds it; no watcher)
        kit.write_post(tmp_path, "setelah-hup", kit.now().replace(microsecond=0) - timedelta(seconds=1), ["a"])
        proc.send_signal(signal.SIGHUP)
        assert kit.wait_for(lambda: len(kit.outbox(tmp_path, "a")) == 1, timeout=15), _log(tmp_path)
        assert kit.stop(proc) == 0, _log(tmp_path)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()


# ----- 2. the ledger lost or emptied -------------------------------------------------------------

def _publish_due(root: Path, *args: str):
    r = kit.spi(root, "post", "publish-due", *args)
    assert "Traceback" not in r.stderr, r.stderr
    return r


def test_ledger_deleted_under_the_daemon_stops_it_and_publishes_nothing_old(tmp_path, daemon):
    """``rm -rf .spi`` while ``spi post schedule`` runs. On c359636 the
    daemon kept writing to its unlinked file (or a new empty one) and the
    next ``publish-due`` re-published everything within the catch-up window
    from an empty ledger. Now the daemon stops (exit 1, a message) as soon
    as it touches the ledger, and a new ledger publishes nothing that fell
    due before it existed, unless asked with --catch-up-from-new-ledger."""
    kit.write_config(tmp_path, kit.file_accounts(["a"]))
    past = kit.now().replace(microsecond=0) - timedelta(minutes=10)
    kit.write_post(tmp_path, "lama", past, ["a"])
    proc = daemon()
    assert kit.wait_for(lambda: len(kit.outbox(tmp_path, "a")) == 1, timeout=15)
    shutil.rmtree(tmp_path / ".spi")
    # a new post makes the daemon sync (no need to wait for the housekeeping minute)
    kit.write_post(tmp_path, "baru", kit.now().replace(microsecond=0) + timedelta(seconds=1), ["a"])
    assert kit.wait_for(lambda: proc.poll() is not None, timeout=30), _log(tmp_path)
    assert proc.returncode == 1, _log(tmp_path)
    log = _log(tmp_path)
    assert "state.db" in log and "Traceback" not in log, log
    time.sleep(1.5)                      # 'baru' is due now
    r = _publish_due(tmp_path)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "--catch-up-from-new-ledger" in r.stdout + r.stderr
    assert [x["post"] for x in kit.outbox(tmp_path, "a")] == ["lama"]
    assert {x.post: x.state for x in kit.ledger_rows(tmp_path)} == {"lama": "missed", "baru": "missed"}
    r = _publish_due(tmp_path, "--catch-up-from-new-ledger")
    assert sorted(x["post"] for x in kit.outbox(tmp_path, "a")) == ["baru", "lama", "lama"], r.stdout + r.stderr


def test_empty_ledger_file_publishes_nothing_old(tmp_path):
    """A 0-byte state.db (a full disk, a bad restore): on c359636 SQLite
    took it as a new database and everything within the catch-up window
    was published again."""
    kit.write_config(tmp_path, kit.file_accounts(["a"]))
    kit.write_post(tmp_path, "lama", kit.now().replace(microsecond=0) - timedelta(minutes=10), ["a"])
    assert _publish_due(tmp_path).returncode == 0
    for p in (tmp_path / ".spi").iterdir():
        if p.name != "state.db":
            p.unlink()
    (tmp_path / ".spi" / "state.db").write_bytes(b"")
    r = _publish_due(tmp_path)
    assert r.returncode == 1 and "--catch-up-from-new-ledger" in r.stdout + r.stderr, r.stdout + r.stderr
    assert len(kit.outbox(tmp_path, "a")) == 1


def test_another_campaigns_ledger_is_an_error(tmp_path):
    """Two campaigns pointed at one ledger: on c359636 the second simply
    used it (and could mark the first one's rows skipped or missed)."""
    kit.write_config(tmp_path, kit.file_accounts(["a"]))
    cfg = tmp_path / "config.yaml"
    cfg.write_text("name: kampanye-kota\n" + cfg.read_text(encoding="utf-8"), encoding="utf-8")
    kit.write_post(tmp_path, "lama", kit.now().replace(microsecond=0) - timedelta(minutes=10), ["a"])
    assert _publish_due(tmp_path).returncode == 0
    cfg.write_text(cfg.read_text(encoding="utf-8").replace("kampanye-kota", "kampanye-kabupaten"), encoding="utf-8")
    r = _publish_due(tmp_path)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "belongs to campaign 'kampanye-kota'" in r.stderr, r.stderr
    assert len(kit.outbox(tmp_path, "a")) == 1


# ----- 12. posts/ replaced by a deploy ---------------------------------------------------------

def test_posts_folder_replaced_by_a_deploy_is_noticed_without_sighup(tmp_path, daemon):
    """``rm -rf posts && cp -r release/posts posts`` under a running daemon.
    On c359636 the watch stayed on the deleted folder: the copied files
    were noticed once (the parent's event), but a post saved into the new
    folder afterwards was seen only after a SIGHUP (or the 15-minute
    rescan)."""
    kit.write_config(tmp_path, kit.file_accounts(["a"]))
    kit.write_post(tmp_path, "lama", kit.now().replace(microsecond=0) + timedelta(hours=2), ["a"])
    daemon()
    release = tmp_path / "release"
    (release / "posts").mkdir(parents=True)
    when = kit.now().replace(microsecond=0) + timedelta(seconds=3)
    for i in range(3):
        (release / "posts" / f"rilis-{i}.yaml").write_text(kit.post_yaml(f"rilis-{i}", when, ["a"]),
                                                            encoding="utf-8")
    shutil.rmtree(tmp_path / "posts")
    shutil.copytree(release / "posts", tmp_path / "posts")
    assert kit.wait_for(lambda: len(kit.outbox(tmp_path, "a")) == 3, timeout=20), _log(tmp_path)
    # and the folder is still watched afterwards
    kit.write_post(tmp_path, "sesudah", kit.now().replace(microsecond=0) + timedelta(seconds=1), ["a"])
    assert kit.wait_for(lambda: len(kit.outbox(tmp_path, "a")) == 4, timeout=20), _log(tmp_path)
