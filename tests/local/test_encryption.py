"""Transport encryption: with it required, remote kernels speak CurveZMQ."""

from __future__ import annotations

import json

import pytest
import zmq
import zmq.asyncio
from jupyter_client.session import Session

from ..kernels import KernelSession, pids_mentioning, wait_until, write_kernelspec
from ..ssh_helpers import ssh_spec


@pytest.fixture
def jp_server_config():
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_remote_kernels": True}},
        "RemoteMappingKernelManager": {"transport_encryption": "required"},
    }


async def shell_request(url: str, session: Session, curve: dict | None, timeout_ms=3000):
    """kernel_info_request on the shell channel; None when no reply comes."""
    ctx = zmq.asyncio.Context()
    sock = ctx.socket(zmq.DEALER)
    sock.linger = 0
    if curve:
        sock.curve_serverkey = curve["public"]
        sock.curve_publickey = curve["public"]
        sock.curve_secretkey = curve["secret"]
    sock.connect(url)
    try:
        session.send(sock, session.msg("kernel_info_request"))
        if await sock.poll(timeout_ms):
            _, parts = session.feed_identities(await sock.recv_multipart())
            return session.deserialize(parts)
        return None
    finally:
        sock.close()
        ctx.term()


async def test_required_encryption_makes_kernels_speak_curve(
    jp_fetch, jp_ws_fetch, kernels_dir, jp_serverapp
):
    response = await jp_fetch(
        "api", "kernels", method="POST", body=json.dumps({"name": "remote-python"})
    )
    kernel_id = json.loads(response.body)["id"]
    session = await KernelSession.open(jp_ws_fetch, kernel_id)
    assert (await session.execute("print('over curve')"))["stdout"] == "over curve\n"
    session.close()

    km = jp_serverapp.kernel_manager.get_kernel(kernel_id)
    info = km.get_connection_info()
    assert info["curve_publickey"] and info["curve_secretkey"]
    url = f"tcp://{info['ip']}:{info['shell_port']}"
    signer = Session(key=info["key"], signature_scheme=info["signature_scheme"])
    plain = await shell_request(url, signer, curve=None)
    assert plain is None, "a plain ZMQ client got an answer from an encrypted kernel"
    keys = {"public": km.curve_publickey, "secret": km.curve_secretkey}
    reply = await shell_request(url, signer, curve=keys, timeout_ms=10000)
    assert reply is not None and reply["header"]["msg_type"] == "kernel_info_reply"
    await jp_fetch("api", "kernels", kernel_id, method="DELETE")
    assert await wait_until(lambda: not pids_mentioning(kernel_id))


async def test_required_encryption_on_an_ssh_kernel(
    jp_fetch, jp_ws_fetch, jp_kernel_dir, jp_serverapp, ssh_bed
):

    spec = ssh_spec(ssh_bed)
    spec["metadata"]["supported_encryption"] = ["curve"]
    write_kernelspec(jp_kernel_dir, "ssh-curve", spec)
    response = await jp_fetch(
        "api", "kernels", method="POST", body=json.dumps({"name": "ssh-curve"})
    )
    model = json.loads(response.body)
    assert model["placement"]["kind"] == "ssh"
    kernel_id = model["id"]
    session = await KernelSession.open(jp_ws_fetch, kernel_id)
    assert (await session.execute("print('ssh over curve')"))["stdout"] == "ssh over curve\n"
    session.close()
    km = jp_serverapp.kernel_manager.get_kernel(kernel_id)
    info = km.get_connection_info()
    url = f"tcp://{info['ip']}:{info['shell_port']}"
    signer = Session(key=info["key"], signature_scheme=info["signature_scheme"])
    assert await shell_request(url, signer, curve=None) is None
    await jp_fetch("api", "kernels", kernel_id, method="DELETE")
