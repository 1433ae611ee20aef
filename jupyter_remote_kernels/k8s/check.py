"""``jupyter remote-kernels check NAME`` for a Kubernetes kernelspec.

In order: the API is reachable and accepts the credentials (who they are); the RBAC verbs the
server needs in the kernels' namespace (SelfSubjectAccessReview for each, and for namespaces
when ``k8s_namespace_template`` is set); then a short test pod in the kernelspec's image, with
its resources and security context, runs the kernelspec's Python with ``import ipykernel`` (or,
for a kernel of its own command, ``kernel_argv``, looks for that command in the image, as the
other backends' checks do on their hosts) and connects to the address kernels call back to.
The test pod is deleted whatever happens.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any, Optional

from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException

from ..backends import kernel_probe, print_checks
from ..errors import RemoteKernelError
from ..netutil import route_ip
from .client import K8sClient, api_message
from .errors import K8sError
from .provisioner import K8sProvisioner
from .resources import pod_overrides
from .translate import is_eg_argv

__all__ = ["CLUSTER_RULES", "NAMESPACE_RULES", "check_k8s_spec", "run_check"]

#: What the server does in the kernels' namespace: (API group, resource, verbs). The README's
#: Role is exactly this (a test compares them).
NAMESPACE_RULES = (
    ("", "pods", ("create", "delete", "deletecollection", "get", "list", "watch")),
    ("", "secrets", ("create", "delete", "deletecollection", "get", "patch")),
)
#: With per-user namespaces (k8s_namespace_template): the README's ClusterRole.
CLUSTER_RULES = (("", "namespaces", ("create", "delete", "get")),)

#: argv: callback address, port, token[, the kernel's command as JSON]. It says what it found:
#: ``TOKEN Python 3.11.2 ipykernel 6.29.3``, or ``TOKEN Python 3.11.2 kernel /usr/bin/R``
#: (``kernel -`` when the command is not in the image).
_PROBE = """\
import importlib.util, json, shutil, socket, sys
said = 'Python ' + sys.version.split()[0]
if len(sys.argv) > 4:
    argv = json.loads(sys.argv[4])
    if argv[0] in ('python', 'python3') and len(argv) > 2 and argv[1] == '-m':
        found = sys.executable if importlib.util.find_spec(argv[2]) else ''
    else:
        found = shutil.which(argv[0]) or ''
    said += ' kernel ' + (found or '-')
else:
    import ipykernel
    said += ' ipykernel ' + ipykernel.__version__
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), 20)
s.sendall(('%s %s\\n' % (sys.argv[3], said)).encode())
s.close()
"""
_PROBE_TIMEOUT = 120.0
_CHECK_LABEL = ("app.kubernetes.io/managed-by", "jupyter-remote-kernels-check")
_FAILED_WAITING = (
    "ErrImagePull",
    "ImagePullBackOff",
    "ErrImageNeverPull",
    "InvalidImageName",
    "CreateContainerConfigError",
    "CreateContainerError",
)


async def _identity(kc: K8sClient) -> tuple[bool, str]:
    try:
        api = await kc.api()
        version = await asyncio.wait_for(client.VersionApi(api).get_code(), kc.timeout)
        review = await asyncio.wait_for(
            client.AuthenticationV1Api(api).create_self_subject_review(
                {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
            ),
            kc.timeout,
        )
    except K8sError as exc:
        return False, str(exc)
    except ApiException as exc:
        return False, f"{kc.describe()} refused the credentials: {api_message(exc)}"
    except (OSError, asyncio.TimeoutError) as exc:
        return False, f"cannot reach the API server of {kc.describe()}: {exc or 'timed out'}"
    user = review.status.user_info.username if review.status else "?"
    return True, f"Kubernetes {version.git_version} at {await kc.host()}, as {user}"


async def _allowed(api: Any, namespace: Optional[str], group: str, resource: str, verb: str):
    body = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectAccessReview",
        "spec": {
            "resourceAttributes": {
                "group": group,
                "resource": resource,
                "verb": verb,
                **({"namespace": namespace} if namespace else {}),
            }
        },
    }
    review = await client.AuthorizationV1Api(api).create_self_subject_access_review(body)
    return bool(review.status.allowed)


async def _rbac(kc: K8sClient, namespace: str, per_user: bool) -> tuple[bool, str]:
    api = await kc.api()
    wanted = [(namespace, *rule) for rule in NAMESPACE_RULES]
    if per_user:
        wanted += [(None, *rule) for rule in CLUSTER_RULES]
    missing = []
    try:
        for where, group, resource, verbs in wanted:
            denied = [
                verb
                for verb in verbs
                if not await asyncio.wait_for(
                    _allowed(api, where, group, resource, verb), kc.timeout
                )
            ]
            if denied:
                scope = f" in {where}" if where else " (cluster)"
                missing.append(f"{resource}{scope}: {' '.join(denied)}")
    except (ApiException, asyncio.TimeoutError, OSError) as exc:
        reason = api_message(exc) if isinstance(exc, ApiException) else exc or "timed out"
        return False, f"cannot ask the API what is allowed: {reason}"
    scope = f"namespace {namespace}" + (" and namespaces (cluster)" if per_user else "")
    if missing:
        role = "the Role" + (" and ClusterRole" if per_user else "")
        return False, (
            f"not allowed: {'; '.join(missing)}. Bind {role} of the README's Kubernetes "
            "section to these credentials"
        )
    return True, f"what kernels need in {scope}: allowed"


class _Callback:
    """The address the test pod calls back to: an asyncio server taking one line."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.said: asyncio.Future = asyncio.get_running_loop().create_future()
        self.server: Optional[asyncio.AbstractServer] = None

    async def open(self, ip: str) -> int:
        self.server = await asyncio.start_server(self._connected, ip, 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _connected(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        try:
            line = await asyncio.wait_for(reader.readline(), 20)
        except (OSError, asyncio.TimeoutError):
            line = b""
        finally:
            writer.close()
        first, _, rest = line.decode("utf-8", "replace").strip().partition(" ")
        if first == self.token and not self.said.done():
            self.said.set_result(rest or "ran")

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


@dataclass
class _Probe:
    """One test pod and the listener it calls back to."""

    kc: K8sClient
    name: str
    namespace: str
    image: str
    python: str
    callback: str
    port: int = 0
    kernel_argv: Optional[list[str]] = None

    async def follow(self, accepted: asyncio.Future) -> tuple[bool, str]:
        deadline = time.monotonic() + _PROBE_TIMEOUT
        what = f"read pod {self.name} in {self.namespace}"
        why = "Pending"
        while time.monotonic() < deadline:
            pod = await self.kc.call(what, "read_namespaced_pod", self.name, self.namespace)
            status = pod.status
            for cs in status.container_statuses or []:
                waiting = cs.state.waiting if cs.state else None
                if waiting and waiting.reason in _FAILED_WAITING:
                    return False, f"image {self.image}: {waiting.reason}: {waiting.message or ''}"
            if status.phase in ("Succeeded", "Failed"):
                return await self._ended(pod, accepted)
            why = next(
                (
                    c.message
                    for c in status.conditions or []
                    if c.type == "PodScheduled" and c.status == "False"
                ),
                status.phase,
            )
            await asyncio.sleep(1)
        return False, f"the test pod did not finish within {_PROBE_TIMEOUT:g} s: {why}"

    async def _ended(self, pod: Any, accepted: asyncio.Future) -> tuple[bool, str]:
        if pod.status.phase == "Failed":
            log = "(its log is not readable with these credentials)"
            with contextlib.suppress(K8sError):
                log = await self.kc.call(
                    f"read the log of pod {self.name}",
                    "read_namespaced_pod_log",
                    self.name,
                    self.namespace,
                )
            log = (log or "").strip()
            return False, (
                f"the test pod in {self.image} failed ({self.python} -c '{self.what}'; "
                f"connect to {self.callback}:{self.port}): {log[-400:] or 'no output'}"
            )
        try:
            said = await asyncio.wait_for(asyncio.shield(accepted), 10)
        except asyncio.TimeoutError:
            said = ""
        if not said:
            return False, f"the test pod ran but did not reach {self.callback}:{self.port}"
        return True, (
            f"{said} in {self.image} on {pod.spec.node_name}; reached {self.callback}:{self.port}"
        )

    @property
    def what(self) -> str:
        return f"look for {self.kernel_argv[0]}" if self.kernel_argv else "import ipykernel"

    def manifest(self, overrides: Any, token: str) -> dict[str, Any]:
        command = [self.python, "-c", _PROBE, self.callback, str(self.port), token]
        if self.kernel_argv:
            command.append(json.dumps(self.kernel_argv))
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": self.name, "labels": {_CHECK_LABEL[0]: _CHECK_LABEL[1]}},
            "spec": {
                "restartPolicy": "Never",
                "terminationGracePeriodSeconds": 0,
                "enableServiceLinks": False,
                "containers": [{"name": "kernel", "command": command}],
            },
        }
        return overrides.apply(pod, container="kernel")


async def _probe(prov: Any, kc: K8sClient, python: str) -> tuple[bool, str]:
    """A test pod: the image's Python imports ipykernel (or looks for the kernel's command)
    and calls back to this server."""
    callback = prov.callback_ip or route_ip(await kc.host(), "127.0.0.1")
    token = secrets.token_hex(8)
    overrides = pod_overrides(prov, {}, username=getpass.getuser())
    if overrides.create_namespace:
        # A per-user namespace may not exist yet: the check runs in the fixed namespace.
        overrides.namespace = prov.k8s_namespace
    back = _Callback(token)
    probe = _Probe(
        kc, f"jrk-check-{token[:6]}", overrides.namespace, overrides.image, python, callback,
        kernel_argv=list(prov.kernel_argv or []) or None,
    )
    probe.port = await back.open(callback)
    where = f"pod {probe.name} in {probe.namespace}"
    try:
        await kc.call(
            f"create {where}",
            "create_namespaced_pod",
            probe.namespace,
            probe.manifest(overrides, token),
        )
        return await probe.follow(back.said)
    except K8sError as exc:
        return False, str(exc)
    finally:
        await back.close()
        with contextlib.suppress(K8sError):
            await kc.call(
                f"delete {where}",
                "delete_namespaced_pod",
                probe.name,
                probe.namespace,
                grace_period_seconds=0,
                missing_ok=True,
            )


async def _checks(prov: Any, argv: list[str]) -> list[tuple[str, bool, str]]:
    kc = K8sClient(
        kubeconfig=prov.k8s_kubeconfig,
        context=prov.k8s_context,
        in_cluster=prov.k8s_in_cluster,
        timeout=prov.k8s_api_timeout,
        log=prov.log,
    )
    try:
        ok, detail = await _identity(kc)
        results = [("api", ok, detail)]
        if not ok:
            return results
        try:
            overrides = pod_overrides(prov, {}, username=getpass.getuser())
        except RemoteKernelError as exc:
            return [*results, ("kernelspec", False, str(exc))]
        per_user = bool(prov.k8s_namespace_template)
        ok, detail = await _rbac(kc, overrides.namespace, per_user)
        results.append(("rbac", ok, detail))
        if not ok:
            return [*results, ("image", False, "not checked: the test pod needs the RBAC above")]
        python = prov.k8s_python if is_eg_argv(argv) or not argv else argv[0]
        ok, detail = await _probe(prov, kc, python)
        if ok and prov.kernel_argv:
            return [*results, *_kernel_rows(detail, prov.kernel_argv, prov.k8s_image)]
        results.append(("image", ok, detail))
        return results
    finally:
        await kc.close()


def _kernel_rows(detail: str, kernel_argv: list[str], image: str) -> list:
    """The probe's ``Python 3.11.2 kernel /usr/bin/R in IMG ...`` as an image row and a
    kernel row (``R /usr/bin/R``, as the other backends print it)."""
    head, _, rest = detail.partition(" kernel ")
    found, _, where = rest.partition(" ")
    what = kernel_probe(kernel_argv, "python3")[1]
    rows = [("image", True, f"{head} {where}".strip())]
    if found in ("", "-"):
        fix = (f"{what} is not found in image {image}: use an image with the kernel, or fix "
               "kernel_argv in the kernelspec")
        return [*rows, ("kernel", False, fix)]
    return [*rows, ("kernel", True, f"{what} {found}")]


def check_k8s_spec(config: dict[str, Any], argv: list[str]) -> list[tuple[str, bool, str]]:
    """[(check, ok, detail or fix)] for a Kubernetes kernelspec's ``process_proxy.config``."""
    return asyncio.run(_checks(K8sProvisioner(**config), argv))


def run_check(name: str, config: dict[str, Any], argv: list[str]) -> int:
    """Print the checks of Kubernetes kernelspec ``name``; the exit status (0: all fine)."""
    print(f"{name} (Kubernetes):")
    return 1 if print_checks(check_k8s_spec(config, argv)) else 0
