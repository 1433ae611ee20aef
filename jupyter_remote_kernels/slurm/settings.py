"""The settings of Slurm kernels (each overridable per kernelspec in process_proxy.config)."""

from __future__ import annotations

from traitlets import Float, Int, List, Unicode, validate

from ..provisioning import EnvBundleSettings, positive_seconds
from ..ssh import parse_host
from .resources import parse_memory, parse_time

__all__ = ["SlurmSettings"]


class SlurmSettings(EnvBundleSettings):
    """Where jobs are submitted, what they ask of Slurm, and what a start request may change."""

    # ------------------------------------------------------------------ the cluster
    slurm_conf = Unicode(
        "",
        config=True,
        help="slurm.conf of the cluster, passed to the Slurm commands as $SLURM_CONF "
        "(default: the commands' own, usually /etc/slurm/slurm.conf).",
    )
    slurm_bin_dir = Unicode(
        "",
        config=True,
        help="Folder of sbatch, squeue, scancel and scontrol (default: found on PATH).",
    )
    slurm_login_host = Unicode(
        "",
        config=True,
        help="Submit and follow jobs on this login node over SSH ([user@]host[:port]) instead "
        "of on this machine: for a server that is no Slurm submit host. The commands run "
        "through the SSH backend's pooled connections; the job script goes on the channel's "
        "stdin.",
    )
    slurm_login_key_file = Unicode(
        "", config=True, help="Private key for the login node (default: SSH agent, ~/.ssh keys)."
    )
    slurm_login_known_hosts = Unicode(
        "~/.ssh/known_hosts",
        config=True,
        help="known_hosts file the login node's host key is checked against (an unknown key "
        "is refused).",
    )
    slurm_command_timeout = Float(
        30.0, config=True, help="Seconds one Slurm command (sbatch, squeue, scancel) may take."
    )
    slurm_poll_interval = Float(
        1.0,
        config=True,
        help="Seconds between two squeue polls; one squeue per interval serves every Slurm "
        "kernel of the server on that cluster.",
    )
    cancel_timeout = Float(
        60.0,
        config=True,
        help="Seconds to wait for Slurm to report a cancelled job ended (after KillWait).",
    )
    slurm_node_timeout = Float(
        30.0,
        config=True,
        help="Seconds a ready kernel whose launcher is gone or stopped answering is still "
        "waited for, so that Slurm can say why (its time limit, a node failure, NODE_FAIL) "
        "before the kernel is reported dead. Set it a little above the cluster's "
        "SlurmdTimeout.",
    )
    slurm_export_env = List(
        Unicode(),
        ["PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "TZ"],
        config=True,
        help="Variables of the server's environment a job gets (with the kernelspec's env "
        "and the request's KERNEL_* values). Nothing else of the server's environment (its "
        "token, say) reaches Slurm, which keeps a job's environment in its state.",
    )
    slurm_output = Unicode(
        "/dev/null",
        config=True,
        help="Where a job's own output goes (sbatch --output; %j is the job id). The "
        "launcher reports a kernel that fails to start through its callback; set a file on a "
        "shared file system to see what a job printed when Python itself fails.",
    )

    # ------------------------------------------------------------------ what a job asks for
    slurm_partition = Unicode(
        "",
        config=True,
        help="Partition (sbatch --partition); default: the cluster's default partition.",
    )
    slurm_account = Unicode("", config=True, help="Account (sbatch --account).")
    slurm_qos = Unicode("", config=True, help="Quality of service (sbatch --qos).")
    slurm_time = Unicode(
        "",
        config=True,
        help="Time limit, in Slurm's syntax: 30, 2:00:00, 1-00:00:00 "
        "(sbatch --time; default: the partition's).",
    )
    slurm_cpus = Int(1, config=True, help="CPUs of the kernel (sbatch --cpus-per-task).")
    slurm_memory = Unicode(
        "",
        config=True,
        help="Memory of the kernel, e.g. 4G (sbatch --mem; default: the partition's).",
    )
    slurm_gres = Unicode("", config=True, help="Generic resources, e.g. gpu:1 (sbatch --gres).")
    slurm_constraint = Unicode("", config=True, help="Node features (sbatch --constraint).")
    slurm_extra_options = List(
        Unicode(),
        config=True,
        help='Further sbatch options, one per item (e.g. "--reservation=course"); passed '
        "as arguments, never through a shell.",
    )

    # ------------------------------------------------------------------ what a request may change
    allowed_partitions = List(
        Unicode(),
        config=True,
        help="Partitions a start request may choose with KERNEL_SLURM_PARTITION; empty: "
        "only the kernelspec's.",
    )
    max_time = Unicode(
        "",
        config=True,
        help="Longest time limit a start request may ask for with KERNEL_SLURM_TIME; "
        "empty: the request may not change the time limit.",
    )
    max_cpus = Int(
        0,
        config=True,
        help="Most CPUs a request may ask for with KERNEL_SLURM_CPUS (0: no change allowed).",
    )
    max_memory = Unicode(
        "",
        config=True,
        help="Most memory a request may ask for with KERNEL_SLURM_MEMORY "
        "(empty: no change allowed).",
    )
    max_gpus = Int(
        0,
        config=True,
        help="Most GPUs a request may ask for with KERNEL_SLURM_GPUS (0: no change allowed).",
    )

    @validate(
        "slurm_command_timeout", "slurm_poll_interval", "cancel_timeout", "slurm_node_timeout"
    )
    def _validate_seconds(self, proposal: dict) -> float:
        return positive_seconds(proposal)

    @validate("slurm_time", "max_time")
    def _validate_time(self, proposal: dict) -> str:
        value = str(proposal["value"]).strip()
        if value:
            parse_time(value)  # raises ValueError naming the syntax
        return value

    @validate("slurm_memory", "max_memory")
    def _validate_memory(self, proposal: dict) -> str:
        value = str(proposal["value"]).strip()
        if value:
            parse_memory(value)
        return value

    @validate("slurm_cpus")
    def _validate_cpus(self, proposal: dict) -> int:
        if proposal["value"] < 1:
            msg = "slurm_cpus must be at least 1"
            raise ValueError(msg)
        return proposal["value"]

    @validate("slurm_login_host")
    def _validate_login_host(self, proposal: dict) -> str:
        value = str(proposal["value"]).strip()
        if value:
            parse_host(value)  # raises ValueError naming the forms
        return value
