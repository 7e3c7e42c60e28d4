"""scripts/demo.sh reads its secrets from the local vault whatever ANSIBLE_VERBOSITY says (issue 8 defect 9).

``ansible-vault view`` prints a banner (``ansible-vault [core ...]``, config file, ...) on stdout before the
plaintext when ANSIBLE_VERBOSITY (or ANSIBLE_DEBUG) is set, and the demo parsed that output as YAML. The test
sources the script (which then only defines its functions) and calls ``vault_value`` the way ``up`` does.
"""

import subprocess

import pytest
import yaml

from conftest import REPO


def _vault():
    out = subprocess.run(
        [
            str(REPO / ".venv" / "bin" / "ansible-vault"),
            "view",
            "--vault-password-file",
            str(REPO / "inventories/local/demo-vault-password.txt"),
            str(REPO / "inventories/local/group_vars/all/vault.yml"),
        ],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin"},
    )
    return yaml.safe_load(out.stdout)


@pytest.mark.parametrize(
    "env", [{}, {"ANSIBLE_VERBOSITY": "3"}, {"ANSIBLE_VERBOSITY": "4", "ANSIBLE_DEBUG": "1"}], ids=["plain", "verbosity-3", "verbosity-4-debug"]
)
def test_vault_value_ignores_verbosity_banners(env, tmp_path):
    expected = _vault()["vault_kpi_grafana_admin_password"]
    script = 'set -euo pipefail; source "$1"; vault_value vault_kpi_grafana_admin_password > "$2"'
    out_file = tmp_path / "value"
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    proc = subprocess.run(
        ["bash", "-c", script, "bash", str(REPO / "scripts" / "demo.sh"), str(out_file)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=dict({"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "TMPDIR": str(tmp)}, **env),
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert out_file.read_text() == expected + "\n"
    assert expected not in proc.stdout + proc.stderr
    assert list(tmp.iterdir()) == [], "the decrypted temporary file was left behind"


def test_vault_value_fails_on_a_missing_key(tmp_path):
    script = 'set -euo pipefail; source "$1"; vault_value no_such_key'
    proc = subprocess.run(
        ["bash", "-c", script, "bash", str(REPO / "scripts" / "demo.sh")],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "TMPDIR": str(tmp_path)},
        timeout=120,
        check=False,
    )
    assert proc.returncode != 0
    assert not list(tmp_path.glob("tmp.*"))
