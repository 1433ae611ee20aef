"""Kernels other than ipykernel (issue 23): their commands, code and the lifecycle test.

:func:`lifecycle` drives one kernel through a real Jupyter Server as JupyterLab does: start
-> ready, ``1+1``, an interrupted 60 s sleep, restart (a fresh kernel: its variable gone,
a new process), delete, and then nothing of it left in the process table the caller
looks at (the SSH host's, the Slurm node's, this machine's).
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from typing import Any, Callable

from .kernels import KernelSession, wait_until
from .requirements import require

__all__ = ["BASH", "BASH_ARGV", "IR_ARGV", "Language", "R", "lifecycle", "require_kernels"]

#: IRkernel's own argv (Debian's r-cran-irkernel kernel.json).
IR_ARGV = ["R", "--slave", "-e", "IRkernel::main()", "--args", "{connection_file}"]
#: bash_kernel's (PyPI): ``python`` is the launcher's own Python on the kernel's host.
BASH_ARGV = ["python", "-m", "bash_kernel", "-f", "{connection_file}"]


@dataclass(frozen=True)
class Language:
    """The code the lifecycle runs in one kernel language, and what it prints."""

    name: str
    argv: list[str]
    one_plus_one: str
    two: str  # what 1+1 shows (its stdout or execute_result)
    sleep: str  # prints "sleeping" first, from inside the cell
    set_x: str
    show_x: str
    x_set: str
    x_unset: str
    marker: str  # in the kernel process's command line


R = Language(
    name="R",
    argv=IR_ARGV,
    one_plus_one="1+1",
    two="[1] 2",
    sleep="cat('sleeping\\n'); Sys.sleep(60)",
    set_x="x <- 42",
    show_x="cat(if (exists('x')) x else 'unset', '\\n', sep='')",
    x_set="42",
    x_unset="unset",
    marker="IRkernel::main()",
)
BASH = Language(
    name="bash",
    argv=BASH_ARGV,
    one_plus_one="echo $((1+1))",
    two="2",
    sleep="echo sleeping; sleep 60",
    set_x="x=42",
    show_x="echo ${x:-unset}",
    x_set="42",
    x_unset="unset",
    marker="bash_kernel",
)


def require_kernels() -> None:
    """R with IRkernel and bash_kernel must be installed (.ci/run installs them)."""
    require(shutil.which("R") is not None, "R (r-base-core)", "apt-get install r-base-core")
    found = _has_r_package("IRkernel")
    require(found, "R's IRkernel (r-cran-irkernel)", "apt-get install r-cran-irkernel")
    found = importlib.util.find_spec("bash_kernel") is not None
    require(found, "bash_kernel", f"{sys.executable} -m pip install bash_kernel")


def _has_r_package(name: str) -> bool:
    done = subprocess.run(
        ["Rscript", "-e", f"cat(requireNamespace('{name}', quietly=TRUE))"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    return done.stdout.strip() == "TRUE"


async def run(session: KernelSession, code: str, timeout: float = 60.0) -> dict[str, Any]:
    """Execute ``code``: the reply plus ``text``, its stdout and results (text/plain)."""
    msg_id = await session.send_execute(code)
    text, reply, idle = [], None, False
    async for m in session.messages(timeout, f"answer to {code!r}"):
        if m.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        if m["msg_type"] == "stream" and m["content"].get("name") == "stdout":
            text.append(m["content"]["text"])
        elif m["msg_type"] in ("execute_result", "display_data"):  # IRkernel: display_data
            text.append(m["content"]["data"].get("text/plain", ""))
        elif m["msg_type"] == "execute_reply":
            reply = m["content"]
        elif m["msg_type"] == "status" and m["content"]["execution_state"] == "idle":
            idle = True
        if reply is not None and (idle or reply["status"] == "aborted"):
            return dict(reply, text="".join(text).strip())
    raise AssertionError("unreachable")


async def wait_output(session: KernelSession, msg_id: str, text: str, timeout: float = 30):
    """Wait until the cell ``msg_id`` has printed ``text``: it runs its code then."""
    seen = ""
    async for m in session.messages(timeout, f"{text!r} from the running cell"):
        if m.get("parent_header", {}).get("msg_id") == msg_id and m["msg_type"] == "stream":
            seen += m["content"]["text"]
            if text in seen:
                return


async def lifecycle(
    jp_fetch,
    jp_ws_fetch,
    kernel_name: str,
    lang: Language,
    processes: Callable[[str], list[tuple[int, str]]],
    timeout: float = 120,
    body: dict[str, Any] | None = None,
    gone_within: float = 15,
    while_running: Callable[[dict[str, Any]], Any] | None = None,
) -> dict[str, Any]:
    """Run the whole lifecycle; ``processes(kernel_id)`` lists the processes of the kernel
    (and its launcher) where it runs, read from that machine's process table (and a
    cluster's jobs or applications), empty within ``gone_within`` s of the delete.

    Returns the kernel's model at its start (its placement).
    """
    response = await jp_fetch(
        "api",
        "kernels",
        method="POST",
        body=json.dumps({"name": kernel_name, **(body or {})}),
        request_timeout=timeout,
    )
    model = json.loads(response.body)
    kernel_id = model["id"]
    assert model["placement"]["phase"] == "ready", model

    def procs() -> list[tuple[int, str]]:
        return processes(kernel_id)

    def kernel_procs() -> list[tuple[int, str]]:
        return [(pid, cmd) for pid, cmd in procs() if lang.marker in cmd]

    first = kernel_procs()
    assert len(first) == 1, procs()  # the kernel itself runs there
    session = await KernelSession.open(jp_ws_fetch, kernel_id)
    result = await run(session, lang.one_plus_one)
    assert (result["status"], result["text"]) == ("ok", lang.two), result
    if while_running is not None:  # the caller's own checks of the running kernel
        await while_running(model)
    assert (await run(session, lang.set_x))["status"] == "ok"

    # Interrupted once it sleeps: R (IRkernel) quits, "Execution halted", when SIGINT comes
    # in the instant between a cell's execute_input and its evaluation, with jupyter_client's
    # own local kernels too.
    msg_id = await session.send_execute(lang.sleep)
    await wait_output(session, msg_id, "sleeping")
    await jp_fetch("api", "kernels", kernel_id, "interrupt", method="POST", body="")
    reply = await session.wait_reply(msg_id, timeout=20)  # not after the 60 s
    assert reply["status"] in ("error", "abort"), reply
    # IRkernel answers a request that follows an interrupt at once "aborted", sometimes.
    for _ in range(3):
        shown = await run(session, lang.show_x)
        if shown["status"] != "aborted":
            break
    assert shown["text"] == lang.x_set, shown  # the same kernel, alive
    session.close()

    await jp_fetch(
        "api", "kernels", kernel_id, "restart", method="POST", body="", request_timeout=timeout
    )
    assert await wait_until(lambda: first[0] not in kernel_procs(), 10), procs()
    session = await KernelSession.open(jp_ws_fetch, kernel_id)
    assert (await run(session, lang.show_x))["text"] == lang.x_unset  # a fresh kernel
    session.close()
    assert len(kernel_procs()) == 1, procs()

    response = await jp_fetch(
        "api", "kernels", kernel_id, method="DELETE", request_timeout=timeout
    )
    assert response.code == 204
    assert await wait_until(lambda: not procs(), gone_within, interval=0.5), procs()
    return model
