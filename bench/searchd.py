"""Start and stop local Sphinx ``searchd`` shards on free loopback ports (tests, benchmarks).

Each shard runs in the foreground (``--nodetach``) as a child process in its own folder, so
it can be stopped cleanly, killed with SIGKILL and restarted on the same data and port. The
config declares the RT index Newsdesk writes (``newsdesk_passages``); docs/manticore.md has
the production version.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pymysql

INDEX = "newsdesk_passages"

CONFIG = """
index {index}
{{
    type = rt
    path = {folder}/{index}
    rt_field = body
    rt_attr_bigint = art
    rt_attr_bigint = seq
    rt_attr_uint = para
    rt_attr_uint = win
    rt_attr_uint = plen
    rt_attr_string = article
    rt_attr_string = text
    rt_attr_string = spans
    rt_attr_string = terms
    rt_attr_string = title
    rt_attr_string = source
    rt_attr_string = url
    rt_attr_string = published
    dict = keywords
    charset_table = 0..9, a..z
    min_word_len = 1
    rt_mem_limit = 256M
}}

searchd
{{
    listen = 127.0.0.1:{port}:mysql41
    log = {folder}/searchd.log
    pid_file = {folder}/searchd.pid
    binlog_path = {folder}
    # binlog_flush = 2 (the default): 1 lost rows after kill -9 in Sphinx 2.2.11
    workers = threads
    max_children = 0
}}
"""


def searchd_path() -> str | None:
    """The ``searchd`` binary, or None when Sphinx is not installed."""
    return shutil.which("searchd")


def free_port() -> int:
    """A TCP port nobody listens on right now, on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Searchd:
    """One shard: a folder, a port and (while running) a ``searchd`` child process."""

    def __init__(self, folder: Path, port: int | None = None) -> None:
        self.folder = folder
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None
        folder.mkdir(parents=True, exist_ok=True)
        self.config = folder / "sphinx.conf"
        self.config.write_text(CONFIG.format(index=INDEX, folder=folder, port=self.port))

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 20.0) -> None:
        """Start searchd and wait until it answers SphinxQL."""
        binary = searchd_path()
        if binary is None:
            raise RuntimeError("searchd is not installed (apt-get install sphinxsearch)")
        log = open(self.folder / "stdout.log", "ab")  # noqa: SIM115  # kept by the child
        self.process = subprocess.Popen(
            [binary, "--config", str(self.config), "--nodetach"],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.folder,
        )
        log.close()
        deadline = time.monotonic() + timeout_s
        while True:
            if self.process.poll() is not None:
                tail = (self.folder / "stdout.log").read_text(errors="replace")[-800:]
                raise RuntimeError(f"searchd on port {self.port} exited: {tail}")
            try:
                pymysql.connect(host="127.0.0.1", port=self.port, connect_timeout=1).close()
                return
            except pymysql.err.MySQLError:
                if time.monotonic() > deadline:
                    self.kill()
                    raise RuntimeError(f"searchd on port {self.port} did not start") from None
                time.sleep(0.05)

    def stop(self, timeout_s: float = 20.0) -> None:
        """SIGTERM (searchd saves its RT index), then wait; SIGKILL if it hangs."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def kill(self) -> None:
        """SIGKILL, as a crash: only the binlog survives."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.process = None


def start_shards(root: Path, count: int = 2) -> list[Searchd]:
    """``count`` running shards in folders under ``root``."""
    shards: list[Searchd] = []
    try:
        for n in range(count):
            shard = Searchd(root / f"shard{n}")
            shard.start()
            shards.append(shard)
    except BaseException:
        for shard in shards:
            shard.stop()
        raise
    return shards


def clear(shard: Searchd) -> None:
    """Delete every row of the shard's index (between tests sharing a shard)."""
    conn = pymysql.connect(host="127.0.0.1", port=shard.port, autocommit=True)
    try:
        conn.cursor().execute(f"TRUNCATE RTINDEX {INDEX}")
    finally:
        conn.close()
