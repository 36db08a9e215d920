"""No network: a fresh process whose sockets refuse (and are counted) imports presidio, sets the
step up and scrubs documents, including an address under a TLD newer than any cached suffix list."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = r"""
import json, socket, sys
attempts = []
def refuse(*args, **kwargs):
    attempts.append(repr(args)[:80])
    raise OSError("network access attempted")
class RefusingSocket(socket.socket):  # sockets may be made (urllib3 probes IPv6 that way), not used
    def connect(self, *args):
        refuse("connect", *args)
    def connect_ex(self, *args):
        refuse("connect_ex", *args)
    def sendto(self, *args):
        refuse("sendto", *args)
socket.socket = RefusingSocket
socket.create_connection = refuse
socket.getaddrinfo = refuse
sys.path.insert(0, ROOT)
from corpuskit.document import make_batch
from corpuskit.pii.step import PiiScrubber
step = PiiScrubber(replace="placeholder")
step.ensure_setup()
texts = ["Write to ana@posteo.de or rolf@kunst.berlin, call +49 30 12345678.",
         "请拨打 13812345678 联系。", "no PII here, just 2024 and v1.2.3"]
out = step.process(make_batch(["a", "b", "c"], texts, ["web"] * 3, [None] * 3)).batch
print(json.dumps({"attempts": attempts, "texts": out.column("text").to_pylist()}))
"""


def test_setup_and_scrubbing_never_touch_the_network(tmp_path: Path):
    root = str(Path(__file__).resolve().parent.parent)
    proc = subprocess.run([sys.executable, "-c", f"ROOT = {root!r}\n" + SCRIPT], capture_output=True, text=True,
                          timeout=300, env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["attempts"] == []
    assert result["texts"] == ["Write to <EMAIL> or <EMAIL>, call <PHONE>.", "请拨打 <PHONE> 联系。",
                               "no PII here, just 2024 and v1.2.3"]
    # tldextract wrote no cache under the (empty) home directory
    assert not any(tmp_path.rglob("*.tldextract.json")) and not (tmp_path / ".cache" / "python-tldextract").exists()
