"""A client cannot start a kernel as someone else by sending KERNEL_USERNAME."""

from __future__ import annotations

import getpass
import json

import pytest
from jupyter_server.auth.identity import IdentityProvider, User
from tornado.httpclient import HTTPClientError

from ..kernels import KernelSession, launcher_argv, local_spec, write_kernelspec


class NamedTokenUsers(IdentityProvider):
    """Token holders are one named user, as behind JupyterHub, not a new anonymous one."""

    def generate_anonymous_user(self, handler):
        return User(username="ada")


@pytest.fixture
def jp_server_config():
    return {
        "ServerApp": {
            "jpserver_extensions": {"jupyter_remote_kernels": True},
            "identity_provider_class": NamedTokenUsers,
        },
    }


async def start(jp_fetch, name="remote-python", **body):
    response = await jp_fetch(
        "api", "kernels", method="POST", body=json.dumps({"name": name, **body})
    )
    return json.loads(response.body)["id"]


async def kernel_username(jp_ws_fetch, kernel_id) -> str:
    session = await KernelSession.open(jp_ws_fetch, kernel_id)
    reply = await session.execute("import os; print(os.environ.get('KERNEL_USERNAME'))")
    session.close()
    return reply["stdout"].strip()


async def test_kernel_username_comes_from_the_identity(
    jp_fetch, jp_ws_fetch, kernels_dir, jp_serverapp
):
    with pytest.raises(HTTPClientError) as info:
        await start(jp_fetch, env={"KERNEL_USERNAME": "somebody-else"})
    assert info.value.code == 403
    message = json.loads(info.value.response.body)["message"]
    assert "KERNEL_USERNAME 'somebody-else' is not you" in message
    assert "kernel_user_mapping" in message
    assert json.loads((await jp_fetch("api", "kernels")).body) == []

    kernel_id = await start(jp_fetch)
    assert await kernel_username(jp_ws_fetch, kernel_id) == getpass.getuser()
    await jp_fetch("api", "kernels", kernel_id, method="DELETE")

    me = json.loads((await jp_fetch("api", "me")).body)["identity"]["username"]
    assert me == "ada"
    jp_serverapp.kernel_manager.kernel_user_mapping = {"ada": "alice"}
    kernel_id = await start(jp_fetch, env={"KERNEL_USERNAME": "alice"})
    assert await kernel_username(jp_ws_fetch, kernel_id) == "alice"
    await jp_fetch("api", "kernels", kernel_id, method="DELETE")
    with pytest.raises(HTTPClientError) as info:
        await start(jp_fetch, env={"KERNEL_USERNAME": getpass.getuser()})
    assert info.value.code == 403

    body = {"path": "nb.ipynb", "type": "notebook", "kernel": {"name": "remote-python"}}
    response = await jp_fetch("api", "sessions", method="POST", body=json.dumps(body))
    session = json.loads(response.body)
    assert await kernel_username(jp_ws_fetch, session["kernel"]["id"]) == "alice"
    await jp_fetch("api", "sessions", session["id"], method="DELETE")


async def test_kernelspec_authorized_and_unauthorized_users(jp_fetch, jp_kernel_dir):
    def spec(**config):
        write_kernelspec(jp_kernel_dir, "guarded", local_spec(launcher_argv(), **config))

    me = getpass.getuser()
    for config, expected in [
        ({"authorized_users": ["someone-else"]}, "is not among the users allowed"),
        ({"unauthorized_users": f"nobody,{me}"}, "may not start"),  # EG's comma string
    ]:
        spec(**config)
        with pytest.raises(HTTPClientError) as info:
            await start(jp_fetch, name="guarded")
        assert info.value.code == 403
        assert expected in json.loads(info.value.response.body)["message"]
    spec(authorized_users=[me, "someone-else"])
    kernel_id = await start(jp_fetch, name="guarded")
    await jp_fetch("api", "kernels", kernel_id, method="DELETE")



async def test_plain_enterprise_gateway_local_spec_keeps_its_user_lists(jp_fetch, jp_kernel_dir):
    """EG's LocalProcessProxy with ipykernel's own argv runs under jupyter_client's
    provisioner, which checks no user lists: the server checks them (EG's comma strings)."""
    me = getpass.getuser()
    plain = {
        "argv": ["python", "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "metadata": {
            "process_proxy": {
                "class_name": "enterprise_gateway.services.processproxies.processproxy."
                "LocalProcessProxy",
                "config": {"authorized_users": f"{me},bob", "unauthorized_users": "bob"},
            }
        },
    }
    write_kernelspec(jp_kernel_dir, "plain-guarded", plain)
    kernel_id = await start(jp_fetch, name="plain-guarded")
    await jp_fetch("api", "kernels", kernel_id, method="DELETE")
    plain["metadata"]["process_proxy"]["config"]["unauthorized_users"] = f"bob,{me}"
    write_kernelspec(jp_kernel_dir, "plain-guarded", plain)
    with pytest.raises(HTTPClientError) as info:
        await start(jp_fetch, name="plain-guarded")
    assert info.value.code == 403
    assert "may not start" in json.loads(info.value.response.body)["message"]
    assert json.loads((await jp_fetch("api", "kernels")).body) == []
