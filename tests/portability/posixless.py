"""An interpreter without the POSIX-only APIs that Windows lacks, to test the learner's path on Linux.

`make_posixless_python(folder)` makes a virtual environment whose interpreter, before anything else
is imported, loses `os.fork`, `os.forkpty`, `os.killpg`, `os.setsid`, `os.getpgid`, `socket.AF_UNIX`,
`socket.SOCK_SEQPACKET`, `socket.send_fds`, `socket.recv_fds`, `signal.SIGALRM`, `signal.setitimer`,
`signal.getitimer`, `signal.ITIMER_REAL` and the modules `resource`, `fcntl`, `termios`, `pwd` and
`grp` (importing one raises ImportError). It sees the packages of the interpreter that made it, and
every process it starts with `sys.executable` (the learner process too) is just as POSIX-less.
"""

from __future__ import annotations

import site
import subprocess
import sys
import sysconfig
from pathlib import Path

REMOVED_ATTRIBUTES = {
    "os": ("fork", "forkpty", "killpg", "setsid", "getpgid"),
    "socket": ("AF_UNIX", "SOCK_SEQPACKET", "send_fds", "recv_fds"),
    "signal": ("SIGALRM", "setitimer", "getitimer", "ITIMER_REAL"),
}
REMOVED_MODULES = ("resource", "fcntl", "termios", "pwd", "grp")

_SHIM = """
import sys
for _module, _names in {attributes!r}.items():
    _loaded = __import__(_module)
    for _name in _names:
        if hasattr(_loaded, _name):
            delattr(_loaded, _name)
for _module in {modules!r}:
    sys.modules[_module] = None  # "import resource" now raises ImportError, as on Windows
import site
for _folder in {folders!r}:
    site.addsitedir(_folder)
"""


def make_posixless_python(folder: Path) -> Path:
    """Create the POSIX-less interpreter's environment in `folder`; return its python executable."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    python = folder / "bin" / "python"
    packages = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    ours = [
        path
        for path in {*site.getsitepackages(), sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
        if Path(path).is_dir()
    ]
    shim = _SHIM.format(attributes=REMOVED_ATTRIBUTES, modules=REMOVED_MODULES, folders=sorted(ours))
    (packages / "_posixless.py").write_text(shim)
    (packages / "00_posixless.pth").write_text("import _posixless\n")
    return python


if __name__ == "__main__":
    print(make_posixless_python(Path(sys.argv[1])))
