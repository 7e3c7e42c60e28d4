"""grafana_package's YUM/DNF path, as far as a Debian machine allows (see molecule/README.md).

No RHEL-family system can be booted on the build machine (docs/DEVELOPMENT.md, "Facts about the build/CI machine"),
so no molecule scenario converges this path. This test runs the
role's RedHat install tasks in check + diff mode inside a throwaway container of the molecule base image
(scripts/molecule-prepare.sh builds it) that only has an empty /etc/yum.repos.d, and checks the repository
file the role would write (the diff of ansible.builtin.yum_repository) and that check mode wrote nothing.
"""

import json
import shutil
import subprocess
import uuid

import pytest

pytestmark = pytest.mark.molecule

IMAGE = "localhost/cx-kpi/debian12-systemd:latest"
REPO_FILE = "/etc/yum.repos.d/grafana.repo"


def _podman(*args, check=True):
    return subprocess.run(["podman", *args], capture_output=True, text=True, check=check, timeout=120)


@pytest.fixture
def target():
    if shutil.which("podman") is None or _podman("image", "exists", IMAGE, check=False).returncode != 0:
        pytest.fail("needs podman and %s: run scripts/molecule-prepare.sh" % IMAGE)
    name = "cx-kpi-test-redhat-" + uuid.uuid4().hex[:8]
    cid = _podman("run", "-d", "--rm", "--network", "none", "--name", name, IMAGE, "sleep", "600").stdout.strip()
    try:
        _podman("exec", cid, "mkdir", "-p", "/etc/yum.repos.d")
        yield name
    finally:
        _podman("rm", "-f", "-t", "0", cid, check=False)


def _exists_in(target, path):
    return _podman("exec", target, "test", "-e", path, check=False).returncode == 0


def _run(ansible, tmp_path, target, extra):
    out = tmp_path / "yum-repo-result.json"
    pb = tmp_path / "redhat.yml"
    pb.write_text(
        json.dumps(
            [
                {
                    "hosts": target,
                    "gather_facts": False,
                    "tasks": [
                        {
                            "name": "RedHat install tasks of grafana_package",
                            "ansible.builtin.include_role": {"name": "cx_catalyst.kpi_dashboard.grafana_package", "tasks_from": "install-RedHat.yml"},
                        },
                        {
                            "name": "dump the repository result",
                            "ansible.builtin.copy": {"content": "{{ __grafana_package_yum_repo | to_json }}", "dest": str(out)},
                            "delegate_to": "localhost",
                            "vars": {"ansible_connection": "local"},
                            "check_mode": False,
                            "diff": False,
                        },
                    ],
                }
            ]
        )
    )
    extra = dict(extra, ansible_python_interpreter="/usr/bin/python3")
    res = ansible.playbook(pb, extra_vars=extra, check=True, diff=True, inventory=target + ",", extra_args=["-c", "containers.podman.podman"])
    return res, json.loads(out.read_text())


def test_redhat_repository_file_in_check_mode(ansible, tmp_path, target):
    res, repo = _run(ansible, tmp_path, target, {"grafana_package_version": "11.3.0"})
    assert repo["changed"] is True
    after = repo["diff"]["after"]
    lines = {line.split("=", 1)[0].strip(): line.split("=", 1)[1].strip() for line in after.splitlines() if "=" in line}
    assert "[grafana]" in after
    assert lines["baseurl"] == "https://rpm.grafana.com"
    assert lines["gpgkey"] == "https://rpm.grafana.com/gpg.key"
    assert lines["gpgcheck"] == "1"
    assert lines["repo_gpgcheck"] == "1"
    assert lines["enabled"] == "1"
    assert lines["sslverify"] == "1"
    assert lines["sslcacert"] == "/etc/pki/tls/certs/ca-bundle.crt"
    assert not _exists_in(target, REPO_FILE), "check mode must not write the repository file"
    # The dnf task comes next; without dnf on this Debian target it can only report that, and in check mode
    # (repository not yet written) the role tolerates it instead of failing the run.
    assert "Install the Grafana package" in res.output
    assert "Could not detect which major revision of dnf" in res.output or "dnf" in res.output.lower()


def test_redhat_repository_overrides_and_no_sslcacert_without_sslverify(ansible, tmp_path, target):
    _res, repo = _run(
        ansible,
        tmp_path,
        target,
        {
            "grafana_package_yum_baseurl": "http://mirror.example.invalid/grafana",
            "grafana_package_yum_gpgkey": "http://mirror.example.invalid/grafana/gpg.key",
            "grafana_package_yum_sslverify": False,
        },
    )
    after = repo["diff"]["after"]
    assert "baseurl = http://mirror.example.invalid/grafana" in after
    assert "sslverify = 0" in after
    assert "sslcacert" not in after
    assert "gpgcheck = 1" in after and "repo_gpgcheck = 1" in after
    assert not _exists_in(target, REPO_FILE)
