"""A real one-node Slurm cluster on this machine, for tests: the distribution's slurmctld, slurmd and munged,
each started by us in the foreground (no systemd), with every file they write (key, config, state, spool,
logs, pid files, the munge socket) under one directory, on ports of their own. Nothing in /etc is used or
changed, and a Slurm or munge the machine already runs is left alone: clients find this cluster through
``SLURM_CONF`` (see ``SlurmCluster.env``).

    python tests/slurm_cluster.py DIR     # start one by hand and print the SLURM_CONF to use;
                                          # Ctrl-C (or kill PID) stops it
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

PACKAGES = ("slurmctld", "slurmd", "slurm-client", "munge")
DAEMONS = ("munged", "slurmctld", "slurmd")
CLIENTS = ("sbatch", "sinfo", "squeue", "scontrol", "scancel", "srun")
SEARCH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin", "/sbin"])
INSTALL_OPT_IN = "CURATE_TEST_INSTALL_SLURM"


class SlurmUnavailable(Exception):
    """Slurm cannot run here; the message says exactly why (a test skips with it)."""


def which(name: str) -> str | None:
    return shutil.which(name, path=SEARCH)


def missing_binaries() -> list[str]:
    return [name for name in DAEMONS + CLIENTS if which(name) is None]


def ensure_installed() -> None:
    """Install the distribution's Slurm and munge packages when they are missing, but only as root and only in
    CI (``CI=true``) or when ``CURATE_TEST_INSTALL_SLURM=1`` asks for it: never apt-get on a developer's
    machine unasked. Raises SlurmUnavailable with the reason otherwise."""
    missing = missing_binaries()
    if not missing:
        return
    what = f"Slurm is not installed (missing: {', '.join(missing)})"
    if not (os.environ.get("CI", "").lower() in ("true", "1") or os.environ.get(INSTALL_OPT_IN) == "1"):
        raise SlurmUnavailable(f"{what}; `apt-get install {' '.join(PACKAGES)}`, or set {INSTALL_OPT_IN}=1 "
                               "(as root) to let the test install them")
    if os.geteuid() != 0:
        raise SlurmUnavailable(f"{what}, and installing it needs root (this test runs as uid {os.geteuid()})")
    if which("apt-get") is None:
        raise SlurmUnavailable(f"{what}, and there is no apt-get here to install {' '.join(PACKAGES)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *PACKAGES]
    proc = subprocess.run(install, env=env, capture_output=True, text=True)
    if proc.returncode != 0:  # a fresh machine's package lists may be missing or stale
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, text=True)
        proc = subprocess.run(install, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SlurmUnavailable(f"{what}, and `{' '.join(install)}` failed (exit {proc.returncode}): "
                               f"{(proc.stderr or proc.stdout).strip()[-800:]}")
    if missing_binaries():
        raise SlurmUnavailable(f"installed {' '.join(PACKAGES)}, but still missing: {', '.join(missing_binaries())}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tail(path: Path, chars: int = 1500) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return "(no log)"


class SlurmCluster:
    """One node (this machine, as ``slurmd -C`` describes it), one partition ``curate``, root as SlurmUser."""

    def __init__(self, root: Path):
        self.root = root
        self.conf = root / "slurm.conf"
        self.socket = root / "munge.socket"
        self.logs = root / "log"
        self.node = socket.gethostname().split(".")[0]  # what `hostname -s` prints, and what slurmd matches
        self.procs: dict[str, subprocess.Popen] = {}

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "SLURM_CONF": str(self.conf), "PATH": SEARCH}

    def _write_config(self) -> None:
        for sub in ("state", "spool", "log"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o755)  # munged wants its socket's directory searchable by everyone (a warning only)
        key = self.root / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o600)
        # The node line as slurmd itself sees the hardware (CPUs, sockets, cores, threads, RealMemory): a line
        # that disagrees with it makes slurmctld drain the node.
        probe = subprocess.run([which("slurmd"), "-C"], capture_output=True, text=True)
        node_line = next((line for line in probe.stdout.splitlines() if line.startswith("NodeName=")), None)
        if probe.returncode != 0 or node_line is None:
            raise SlurmUnavailable(f"`slurmd -C` did not describe this node (exit {probe.returncode}): "
                                   f"{(probe.stderr or probe.stdout).strip()[-500:]}")
        node_line = f"NodeName={self.node} " + node_line.split(" ", 1)[1] + " NodeAddr=127.0.0.1 State=UNKNOWN"
        r = self.root
        self.conf.write_text(f"""\
# A one-node test cluster (tests/slurm_cluster.py). No cgroups (containers rarely allow them): processes are
# tracked by parent pid (proctrack/linuxproc), tasks are not bound (task/none), no accounting. cred_expire:
# a requeued job may start again only after its credentials expire (120 s by default; 5 s at least).
ClusterName=curatetest
SlurmctldHost={self.node}(127.0.0.1)
SlurmctldPort={free_port()}
SlurmdPort={free_port()}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket={self.socket},cred_expire=10
CredType=cred/munge
StateSaveLocation={r}/state
SlurmdSpoolDir={r}/spool
SlurmctldPidFile={r}/slurmctld.pid
SlurmdPidFile={r}/slurmd.pid
SlurmctldLogFile={r}/log/slurmctld.log
SlurmdLogFile={r}/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
KillWait=10
{node_line}
PartitionName=curate Nodes={self.node} Default=YES MaxTime=INFINITE State=UP
""")

    def _start(self, name: str, args: list[str]) -> None:
        log = (self.logs / f"{name}.out").open("ab")
        self.procs[name] = subprocess.Popen([which(name), *args], stdout=log, stderr=subprocess.STDOUT,
                                            env=self.env, start_new_session=True)

    def _alive(self, name: str) -> None:
        proc = self.procs[name]
        if proc.poll() is not None:
            raise SlurmUnavailable(f"{name} exited ({proc.returncode}) right after starting: "
                                   f"{tail(self.logs / f'{name}.out')}")

    def start(self, timeout: float = 60) -> None:
        """Start munged, slurmctld and slurmd; return once ``sinfo`` shows the node idle."""
        self._write_config()
        self._start("munged", ["-F", "-f", f"--socket={self.socket}", f"--key-file={self.root / 'munge.key'}",
                               f"--pid-file={self.root / 'munged.pid'}", f"--seed-file={self.root / 'munged.seed'}",
                               f"--log-file={self.logs / 'munged.log'}"])
        deadline = time.monotonic() + timeout
        while not self.socket.exists():
            self._alive("munged")
            if time.monotonic() > deadline:
                raise SlurmUnavailable(f"munged did not create {self.socket}: {tail(self.logs / 'munged.out')}")
            time.sleep(0.1)
        self._start("slurmctld", ["-D", "-i"])
        self._start("slurmd", ["-D", "-N", self.node])
        state = ""
        while state != "idle":
            for name in DAEMONS:
                self._alive(name)
            if time.monotonic() > deadline:
                raise SlurmUnavailable(f"node {self.node} not idle after {timeout:.0f} s (sinfo: {state!r}); "
                                       f"slurmctld: {tail(self.logs / 'slurmctld.log', 800)} slurmd: "
                                       f"{tail(self.logs / 'slurmd.log', 800)}")
            time.sleep(0.5)
            proc = subprocess.run([which("sinfo"), "-h", "-N", "-o", "%T"], env=self.env, capture_output=True,
                                  text=True)
            state = proc.stdout.strip()

    def run(self, *args: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
        """A Slurm client command against this cluster."""
        return subprocess.run([which(args[0]), *args[1:]], env=kwargs.pop("env", self.env), capture_output=True,
                              text=True, check=check, **kwargs)

    def job(self, job_id: str) -> dict[str, str]:
        """``scontrol show job``'s fields (JobState, ExitCode, Restarts, ...)."""
        out = self.run("scontrol", "show", "job", "-o", job_id).stdout
        return dict(field.split("=", 1) for field in out.split() if "=" in field)

    def wait_job(self, job_id: str, states: tuple[str, ...], timeout: float) -> dict[str, str]:
        deadline = time.monotonic() + timeout
        while True:
            job = self.job(job_id)
            if job.get("JobState") in states:
                return job
            if time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} not {'/'.join(states)} after {timeout:.0f} s: {job}")
            time.sleep(0.25)

    def stop(self) -> None:
        """Cancel every job of this cluster, then stop the daemons we started (by pid, newest first)."""
        if "slurmctld" in self.procs and self.procs["slurmctld"].poll() is None:
            jobs = self.run("squeue", "-h", "-o", "%i", check=False).stdout.split()
            if jobs:
                self.run("scancel", *jobs, check=False)
                deadline = time.monotonic() + 30
                while self.run("squeue", "-h", "-o", "%i", check=False).stdout.split() and \
                        time.monotonic() < deadline:
                    time.sleep(0.5)
        for name in reversed(list(self.procs)):
            proc = self.procs[name]
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=15)
        self.procs.clear()


if __name__ == "__main__":
    directory = Path(sys.argv[1] if len(sys.argv) > 1 else "slurm-test-cluster").resolve()
    ensure_installed()
    cluster = SlurmCluster(directory)
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # `kill PID` stops the cluster like Ctrl-C
    try:
        cluster.start()
        print(f"export SLURM_CONF={cluster.conf}   # node {cluster.node} idle; Ctrl-C stops the cluster", flush=True)
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        cluster.stop()
