# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Build a wheelhouse for role kpi_reports' offline install (``kpi_reports_install_method: pip``).

Run on any machine with PyPI access (or a mirror in pip's configuration); the target host needs no network::

    python3 tools/build_wheelhouse.py --dest wheelhouse/ --python-version 3.11 --machine x86_64 --glibc 2.36 \\
        'ansible-core>=2.17' 'matplotlib>=3.6' 'psycopg2-binary>=2.9' 'requests>=2.28'

then ``kpi_reports_pip_wheelhouse: wheelhouse/``. Python version, machine and glibc are the TARGET host's
(``python3 -c 'import platform, sys; print(sys.version_info[:2], platform.machine(), platform.libc_ver())'``
there). Only binary wheels are taken (the host needs no compiler), pip's own wheel is added (the role bootstraps
pip from it), and every ``manylinux`` tag the host's glibc accepts is listed, because ``pip download --platform
manylinux_2_36_x86_64`` alone does not match the ``manylinux_2_17``/``_2_28`` wheels most projects publish.
The download lands in ``<dest>.tmp`` and is renamed when complete (``<dest>/.complete``); a re-run with a
complete ``dest`` does nothing.
"""

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path


def build(dest, python_version, machine, glibc, requirements):
    dest = Path(dest)
    if (dest / ".complete").exists():
        print("cached: %s" % dest)
        return 0
    major, minor = python_version.split(".")[:2]
    glibc_minor = int(glibc.split(".")[1])
    # pip does not widen one manylinux_2_N tag to the older ones the wheels carry: list them all.
    platforms = ["manylinux2014_%s" % machine] + ["manylinux_2_%d_%s" % (m, machine) for m in range(17, glibc_minor + 1)]
    tmp = dest.with_name(dest.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--only-binary=:all:", "--dest", str(tmp)]
    cmd += ["--python-version", "%s.%s" % (major, minor), "--implementation", "cp", "--abi", "cp%s%s" % (major, minor)]
    for platform in platforms:
        cmd += ["--platform", platform]
    cmd += ["pip"] + requirements
    run = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if run.returncode != 0:
        sys.stderr.write(run.stdout[-3000:] + run.stderr[-3000:])
        shutil.rmtree(tmp, ignore_errors=True)
        return 1
    (tmp / ".complete").write_text(json.dumps({"requirements": requirements, "platforms": platforms}) + "\n")
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)
    print("built: %s (%d wheels)" % (dest, len(list(dest.glob("*.whl")))))
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="build_wheelhouse", description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--dest", required=True)
    parser.add_argument("--python-version", required=True, help="target host's Python, e.g. 3.11")
    parser.add_argument("--machine", required=True, help="target host's platform.machine(), e.g. x86_64")
    parser.add_argument("--glibc", required=True, help="target host's glibc version, e.g. 2.36")
    parser.add_argument("requirements", nargs="+")
    args = parser.parse_args(argv)
    return build(args.dest, args.python_version, args.machine, args.glibc, args.requirements)


if __name__ == "__main__":
    sys.exit(main())
