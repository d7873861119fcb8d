"""The clamd virus-scan hook (R35) against a small fake clamd on a unix socket: a finding refuses
the upload, a clean file is stored, and an unreachable or confused scanner fails closed."""

from __future__ import annotations

import io
import socket
import threading
from pathlib import Path

import pytest

from lms.courses import uploads
from lms.courses.virus_scan import scanner_from_config
from tests.courses.author_factories import PDF, files_under

EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
LIMITS = uploads.Limits(10 << 20, 50 << 20, 500 << 20, 40_000_000)


class FakeClamd:
    """Answers INSTREAM like clamd: FOUND when the stream holds the EICAR string."""

    def __init__(self, path: Path, reply: bytes | None = None) -> None:
        self.path, self.reply, self.received = path, reply, b""
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(str(path))
        self.server.listen(1)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.server.accept()
        with conn:
            assert conn.recv(10) == b"zINSTREAM\0"
            while True:
                size = int.from_bytes(self._exactly(conn, 4), "big")
                if size == 0:
                    break
                self.received += self._exactly(conn, size)
            found = EICAR in self.received
            conn.sendall(self.reply or (b"stream: Eicar-Test-Signature FOUND\0" if found
                                        else b"stream: OK\0"))

    @staticmethod
    def _exactly(conn: socket.socket, n: int) -> bytes:
        data = b""
        while len(data) < n:
            part = conn.recv(n - len(data))
            if not part:
                raise ConnectionError
            data += part
        return data

    def close(self) -> None:
        self.thread.join(timeout=5)
        self.server.close()


@pytest.fixture
def sock(tmp_path):
    return tmp_path / "clamd.sock"


def _store(sock: Path, data: bytes, folder: Path) -> uploads.StoredUpload:
    scan = scanner_from_config({"UPLOAD_CLAMD_SOCKET": str(sock), "UPLOAD_CLAMD_TIMEOUT": 5})
    return uploads.store(io.BytesIO(data), "a.pdf", folder=folder, limits=LIMITS, scan=scan)


def test_a_finding_refuses_the_upload(sock, tmp_path):
    clamd = FakeClamd(sock)
    with pytest.raises(uploads.UploadRejected, match="病毒检查"):
        _store(sock, PDF + EICAR, tmp_path / "up")
    clamd.close()
    assert files_under(tmp_path / "up") == []


def test_a_clean_file_is_stored_after_the_whole_file_was_scanned(sock, tmp_path):
    clamd = FakeClamd(sock)
    stored = _store(sock, PDF, tmp_path / "up")
    clamd.close()
    assert clamd.received == PDF
    assert files_under(tmp_path / "up") == [stored.stored_name]


def test_an_unreachable_scanner_fails_closed(sock, tmp_path):
    with pytest.raises(uploads.UploadRejected, match="暂时无法进行"):
        _store(sock, PDF, tmp_path / "up")
    assert files_under(tmp_path / "up") == []


def test_a_scanner_error_fails_closed(sock, tmp_path):
    clamd = FakeClamd(sock, reply=b"INSTREAM size limit exceeded. ERROR\0")
    with pytest.raises(uploads.UploadRejected, match="暂时无法进行"):
        _store(sock, PDF, tmp_path / "up")
    clamd.close()
    assert files_under(tmp_path / "up") == []


def test_the_hook_is_off_unless_configured():
    assert scanner_from_config({"UPLOAD_CLAMD_SOCKET": None}) is None
