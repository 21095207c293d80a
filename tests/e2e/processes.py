"""Child processes for the end-to-end suite and the load benchmark: started with their output
collected line by line, stopped with SIGTERM and, if they linger, SIGKILL."""

import subprocess
import threading
from pathlib import Path
from typing import IO

STOP_TIMEOUT = 10.0  # seconds for a process to end after SIGTERM before it is killed


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
