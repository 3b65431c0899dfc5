"""A real SSH server on 127.0.0.1 for the device tests: asyncssh, in a thread of the test process.

Its "device" is this machine in a separate home folder: commands run in
``/bin/sh -c`` with that folder as the working directory (as sshd does), SFTP
paths that are not absolute are under it. Faults a real device has are
switchable: a write that fails as a full disk does, a connection that drops
after N bytes of a transfer. Public-key login only, for one user and one key.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import signal
import socket
import threading
from pathlib import Path

import asyncssh


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LoopbackDevice:
    """Start with :meth:`start`, stop with :meth:`stop` (idempotent; kills every process it started)."""

    def __init__(self, home: Path, user: str, client_public_key: asyncssh.SSHKey,
                 host_key: asyncssh.SSHKey | None = None, port: int | None = None, sftp: bool = True) -> None:
        self.home, self.user, self.client_key = Path(home), user, client_public_key
        self.sftp = sftp  # False: no SFTP subsystem (Dropbear without sftp-server; sshd with no Subsystem line)
        self.host_key = host_key or asyncssh.generate_private_key("ssh-ed25519")
        self.port = port or free_port()
        self.fail_writes_with: int | None = None  # errno for every SFTP write (ENOSPC = disk full)
        self.drop_after_bytes: int | None = None  # abort the connection after this many bytes written
        self.written = 0
        self.drop_on: tuple[str, int] | None = None  # (text, n): drop the connection after n commands holding text
        self.commands: list[str] = []
        self.pids: dict[int, str] = {}
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="test-sshd", daemon=True)
        self._server: asyncssh.SSHAcceptor | None = None

    # ---- lifecycle ------------------------------------------------------------------
    def start(self) -> LoopbackDevice:
        self._thread.start()
        fut = asyncio.run_coroutine_threadsafe(self._listen(), self._loop)
        self._server = fut.result(10)
        return self

    async def _listen(self) -> asyncssh.SSHAcceptor:
        device = self

        class Server(asyncssh.SSHServer):
            def begin_auth(self, username: str) -> bool:
                return True

            def public_key_auth_supported(self) -> bool:
                return True

            def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
                return username == device.user and \
                    key.export_public_key() == device.client_key.export_public_key()

            def password_auth_supported(self) -> bool:
                return False

        class SFTP(asyncssh.SFTPServer):
            def map_path(self, path: bytes) -> bytes:
                if not path.startswith(b"/"):
                    path = os.fsencode(device.home) + b"/" + path
                return path

            def write(self, file_obj, offset, data):
                if device.fail_writes_with is not None:
                    raise OSError(device.fail_writes_with, os.strerror(device.fail_writes_with))
                device.written += len(data)
                if device.drop_after_bytes is not None and device.written > device.drop_after_bytes:
                    self.connection.abort()
                    raise OSError(errno.ECONNRESET, "connection dropped by the test")
                return super().write(file_obj, offset, data)

        return await asyncssh.create_server(Server, "127.0.0.1", self.port, server_host_keys=[self.host_key],
                                            process_factory=self._process, sftp_factory=SFTP if self.sftp else None,
                                            encoding=None,
                                            allow_scp=False)

    async def _process(self, process: asyncssh.SSHServerProcess) -> None:
        command = process.command or "true"
        self.commands.append(command)
        if self.drop_on is not None and self.count(self.drop_on[0]) > self.drop_on[1]:
            process.channel.get_connection().abort()
            return
        env = {**os.environ, "HOME": str(self.home)}
        proc = await asyncio.create_subprocess_exec("/bin/sh", "-c", command, cwd=self.home, env=env,
                                                    stdin=asyncio.subprocess.PIPE,
                                                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
                                                    start_new_session=True)
        self.pids[proc.pid] = command

        async def pump(src: asyncio.StreamReader, dst) -> None:
            while chunk := await src.read(65536):
                with contextlib.suppress(Exception):
                    dst.write(chunk)

        async def feed() -> None:  # the client's standard input (a file copied with `cat > part`)
            with contextlib.suppress(Exception):
                while chunk := await process.stdin.read(65536):
                    proc.stdin.write(chunk)
                    await proc.stdin.drain()
            with contextlib.suppress(Exception):
                proc.stdin.close()

        feeder = asyncio.ensure_future(feed())  # as sshd: the command's end ends the channel, read or not
        await asyncio.gather(pump(proc.stdout, process.stdout), pump(proc.stderr, process.stderr))
        code = await proc.wait()
        feeder.cancel()
        with contextlib.suppress(Exception):
            process.exit(code if code >= 0 else 128 - code)

    def stop(self) -> None:
        if self._server is not None and not self._loop.is_closed():
            server, self._server = self._server, None

            async def close() -> None:
                server.close()
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(server.wait_closed(), 5)
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(close(), self._loop).result(10)
        for pid in self.pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)
        if not self._thread.is_alive() and not self._loop.is_closed():
            self._loop.close()

    # ---- helpers for tests ----------------------------------------------------------
    def count(self, text: str) -> int:
        """How many commands so far contained ``text``."""
        return sum(text in c for c in self.commands)

    def pid_of(self, text: str) -> int:
        """PID of the first command that contained ``text``."""
        return next(pid for pid, c in self.pids.items() if text in c)

    def known_hosts_line(self) -> str:
        key = self.host_key.export_public_key("openssh").decode().split()[:2]
        return f"[127.0.0.1]:{self.port} {' '.join(key)}\n"

    def alive(self, pid: int) -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        with contextlib.suppress(OSError):
            state = Path(f"/proc/{pid}/stat").read_text().split()[2]
            return state != "Z"
        return True
