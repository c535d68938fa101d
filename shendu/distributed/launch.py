"""How a distributed command is launched, and what it says when it was not."""
from __future__ import annotations

from .world import launched_by_mpi


def launch_hint(command="shendu train MODEL --distributed", n=4):
    """The message for a ``--distributed`` command started without ``mpirun``."""
    return (f"{command.split(' --')[0].split()[0]}: --distributed runs one process per rank under MPI, and this "
            f"process was not started by mpirun; launch it as\n    mpirun -n {n} {command}\n(one machine; add "
            f"--hostfile FILE for several; `pip install 'shendu[mpi]'` installs mpi4py and Open MPI's mpirun; "
            f"see docs/distributed.md)")


def require_launcher(command, n=4):
    """Raise ValueError with :func:`launch_hint` unless this process runs under ``mpirun``."""
    if not launched_by_mpi():
        raise ValueError(launch_hint(command, n))
