"""A local RFC 3161 time-stamping authority for tests: ``openssl ts -reply`` behind HTTP.

    with LocalTsa(tmp_path) as tsa:
        token = await request_timestamp(tsa.url, digest)
        verify_timestamp(token.token, digest, tsa.certificate_pem)

The TSA's key and self-signed certificate (critical extended key usage ``timeStamping``, as
RFC 3161 §2.3 requires) are made with openssl in ``directory``. Each POST of an
``application/timestamp-query`` is answered by running ``openssl ts -reply`` on it, so the
tokens are those of a real, independent implementation. ``refuse`` makes it answer HTTP 503.
"""

from __future__ import annotations

import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType

__all__ = ["LocalTsa"]

_CONFIG = """
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = Rapport Test TSA
O = Rapport Tests
[ tsa_ext ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature, nonRepudiation
extendedKeyUsage = critical, timeStamping
subjectKeyIdentifier = hash
[ tsa ]
default_tsa = tsa_config
[ tsa_config ]
dir = {dir}
serial = {dir}/serial
crypto_device = builtin
signer_cert = {dir}/tsa.pem
signer_key = {dir}/tsa.key
signer_digest = sha256
default_policy = 1.2.3.4.1
other_policies = 1.2.3.4.5
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = yes
tsa_name = no
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


class LocalTsa:
    def __init__(self, directory: Path, *, name: str = "Rapport Test TSA") -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.config = directory / "tsa.cnf"
        self.config.write_text(_CONFIG.format(dir=directory).replace("Rapport Test TSA", name))
        (directory / "serial").write_text("01\n")
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650",
             "-keyout", str(directory / "tsa.key"), "-out", str(directory / "tsa.pem"),
             "-config", str(self.config), "-extensions", "tsa_ext"],
            check=True, capture_output=True,
        )  # fmt: skip
        self.certificate_pem = (directory / "tsa.pem").read_bytes()
        self.refuse = False
        self.requests = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/tsa"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        tsa = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if tsa.refuse or self.headers.get("Content-Type") != "application/timestamp-query":
                    self.send_response(503 if tsa.refuse else 415)
                    self.end_headers()
                    return
                with tsa._lock:  # openssl updates its serial file
                    tsa.requests += 1
                    reply = tsa.reply(body)
                self.send_response(200)
                self.send_header("Content-Type", "application/timestamp-reply")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler

    def reply(self, query: bytes) -> bytes:
        request = self.directory / "request.tsq"
        response = self.directory / "response.tsr"
        request.write_bytes(query)
        subprocess.run(
            ["openssl", "ts", "-reply", "-config", str(self.config), "-queryfile", str(request),
             "-out", str(response)],
            check=True, capture_output=True,
        )  # fmt: skip
        return response.read_bytes()

    def __enter__(self) -> LocalTsa:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
