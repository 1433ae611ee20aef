"""A trusted gateway (JupyterHub's per-user servers with ``--gateway-url``) names the user a
kernel is for in KERNEL_USERNAME; that user is then mapped and checked as if authenticated."""

from __future__ import annotations

import getpass
import json

import pytest
from tornado.httpclient import HTTPClientError

from ..kernels import launcher_argv, local_spec, write_kernelspec
from .test_identity import kernel_username, start


@pytest.fixture
def jp_server_config():
    return {
        "ServerApp": {
            "jpserver_extensions": {"jupyter_remote_kernels": True},
            "identity_provider_class": "jupyter_remote_kernels.identity.NamedTokenIdentityProvider",
        },
        "NamedTokenIdentityProvider": {"token_username": "hub"},
    }


async def test_a_trusted_gateway_names_the_user_and_the_rules_apply_to_that_user(
    jp_fetch, jp_ws_fetch, jp_kernel_dir, jp_serverapp, kernels_dir
):
    me = json.loads((await jp_fetch("api", "me")).body)["identity"]["username"]
    assert me == "hub"  # the token's holder, named by NamedTokenIdentityProvider
    manager = jp_serverapp.kernel_manager
    manager.kernel_user_mapping = {"bob": "bob-k", "eve": "eve-k"}
    write_kernelspec(
        jp_kernel_dir,
        "guarded",
        local_spec(
            launcher_argv(), authorized_users="bob-k,eve-k,root-less", unauthorized_users=["eve-k"]
        ),
    )

    # Not trusted (yet): naming another user is refused, as for anyone.
    with pytest.raises(HTTPClientError) as info:
        await start(jp_fetch, name="guarded", env={"KERNEL_USERNAME": "bob"})
    assert info.value.code == 403
    assert "trusted_gateway_users" in json.loads(info.value.response.body)["message"]

    manager.trusted_gateway_users = ["hub"]
    kernel_id = await start(jp_fetch, name="guarded", env={"KERNEL_USERNAME": "bob"})
    assert await kernel_username(jp_ws_fetch, kernel_id) == "bob-k"  # mapped
    await jp_fetch("api", "kernels", kernel_id, method="DELETE")
    for name, expected in [
        ("eve", "may not start"),  # unauthorized_users, after the mapping
        ("mallory", "is not among the users allowed"),  # unmapped: the server's user
    ]:
        with pytest.raises(HTTPClientError) as info:
            await start(jp_fetch, name="guarded", env={"KERNEL_USERNAME": name})
        assert info.value.code == 403
        assert expected in json.loads(info.value.response.body)["message"]
    # An unmapped user runs as the server's own user, as an authenticated one would.
    kernel_id = await start(jp_fetch, env={"KERNEL_USERNAME": "mallory"})
    assert await kernel_username(jp_ws_fetch, kernel_id) == getpass.getuser()
    await jp_fetch("api", "kernels", kernel_id, method="DELETE")
    with pytest.raises(HTTPClientError) as info:
        await start(jp_fetch, env={"KERNEL_USERNAME": " "})
    assert info.value.code == 400
