"""Child processes for the end-to-end suite and the load benchmark: started with their output
collected line by line, stopped with SIGTERM and, if they linger, SIGKILL."""

import os
import subprocess
import threading
from pathlib import Path
from typing import IO

STOP_TIMEOUT = 10.0  # seconds for a process to end after SIGTERM before it is killed
PROXY_VARIABLES = {"http_proxy", "https_proxy", "all_proxy", "no_proxy"}


# Kept from the environment: where the model's vectors of the phrasings are cached (the test
# session points it at one temporary folder, so that each process started does not redo them).
KEPT_SETTINGS = {"RWA_BOT_CACHE_DIR"}


def isolated_env(**settings: str) -> dict[str, str]:
    """The developer's environment without RWA_BOT_* settings (but the cache folder) or proxies
    (everything talks to 127.0.0.1), output unbuffered, and `settings` on top."""
    env = {
        name: value
        for name, value in os.environ.items()
        if (not name.startswith("RWA_BOT_") or name in KEPT_SETTINGS)
        and name.lower() not in PROXY_VARIABLES
    }
    env.update(NO_PROXY="127.0.0.1,localhost", PYTHONUNBUFFERED="1")
    env.update(settings)
    return env


class Output:
    """The lines a process writes to one pipe, collected by a thread as they come."""

    def __init__(self, pipe: IO[str]) -> None:
        self.lines: list[str] = []
        self._pipe = pipe
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        for line in self._pipe:
            self.lines.append(line.rstrip("\n"))

    def close(self) -> None:
        self._thread.join(timeout=STOP_TIMEOUT)
        self._pipe.close()

    def tail(self, count: int = 60) -> str:
        return "\n".join(self.lines[-count:])


def start_process(
    command: list[str], env: dict[str, str], cwd: Path
) -> tuple[subprocess.Popen[str], Output]:
    """Start `command` with stdout and stderr together, collected as it runs."""
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        encoding="utf-8",
        errors="replace",
    )
    assert process.stdout is not None
    return process, Output(process.stdout)


def stop_process(process: subprocess.Popen[str], output: Output) -> int:
    """SIGTERM, then SIGKILL if it has not ended within STOP_TIMEOUT; return its status."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT)
    output.close()
    return process.returncode
