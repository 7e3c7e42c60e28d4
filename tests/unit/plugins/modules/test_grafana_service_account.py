"""grafana_service_account: exact HTTP calls; token created once, key returned only then."""

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

from grafana_fake import run_module  # noqa: E402

from ansible_collections.cx_catalyst.kpi_dashboard.plugins.modules import grafana_service_account  # noqa: E402

SA = {"id": 5, "uid": "sa5", "name": "cx-kpi", "login": "sa-cx-kpi", "orgId": 1, "role": "Editor", "isDisabled": False}
SEARCH = "/api/serviceaccounts/search"
ARGS = {"name": "cx-kpi", "role": "Editor", "token_name": "ansible"}
KEY = "glsa_NewKeyNewKeyNewKeyNewKeyNewKey01_abcdef12"


def test_create_account_and_token():
    result, fake = run_module(
        grafana_service_account,
        ARGS,
        [
            ("GET", SEARCH, 200, {"totalCount": 0, "serviceAccounts": [], "page": 1, "perPage": 100}),
            ("POST", "/api/serviceaccounts", 201, SA),
            ("POST", "/api/serviceaccounts/5/tokens", 200, {"id": 1, "name": "ansible", "key": KEY}),
        ],
    )
    assert result["changed"] is True and result["token_created"] is True and result["token"] == KEY
    assert fake.calls[1].json == {"name": "cx-kpi", "role": "Editor", "isDisabled": False}
    assert fake.calls[2].json == {"name": "ansible"}
    assert fake.calls[0].params["query"] == "cx-kpi"


def test_rerun_token_exists_no_key():
    result, fake = run_module(
        grafana_service_account,
        ARGS,
        [
            ("GET", SEARCH, 200, {"totalCount": 1, "serviceAccounts": [SA]}),
            ("GET", "/api/serviceaccounts/5/tokens", 200, [{"id": 1, "name": "ansible"}]),
        ],
    )
    assert result["changed"] is False and "token" not in result and len(fake.calls) == 2


def test_role_change_patches():
    dummy, fake = run_module(
        grafana_service_account,
        dict(ARGS, role="Viewer"),
        [
            ("GET", SEARCH, 200, {"totalCount": 1, "serviceAccounts": [SA]}),
            ("GET", "/api/serviceaccounts/5/tokens", 200, [{"id": 1, "name": "ansible"}]),
            ("PATCH", "/api/serviceaccounts/5", 200, {"serviceaccount": dict(SA, role="Viewer")}),
        ],
    )
    assert fake.calls[2].json == {"role": "Viewer", "isDisabled": False}


def test_similar_names_are_not_matched():
    result, fake = run_module(
        grafana_service_account,
        {"name": "cx"},
        [
            ("GET", SEARCH, 200, {"totalCount": 1, "serviceAccounts": [SA]}),
            ("POST", "/api/serviceaccounts", 201, dict(SA, id=6, name="cx")),
        ],
    )
    assert result["changed"] is True


def test_check_mode_no_write_no_key():
    result, fake = run_module(
        grafana_service_account,
        ARGS,
        [
            ("GET", SEARCH, 200, {"totalCount": 0, "serviceAccounts": []}),
        ],
        check=True,
    )
    assert result["changed"] is True and result["token_created"] is True
    assert "token" not in result and fake.writes == []


def test_delete():
    result, fake = run_module(
        grafana_service_account,
        {"name": "cx-kpi", "state": "absent"},
        [
            ("GET", SEARCH, 200, {"totalCount": 1, "serviceAccounts": [SA]}),
            ("DELETE", "/api/serviceaccounts/5", 200, {"message": "Service account deleted"}),
        ],
    )
    assert result["changed"] is True


def test_forbidden_is_clear():
    result, dummy = run_module(
        grafana_service_account,
        ARGS,
        [
            ("GET", SEARCH, 403, {"message": "You'll need additional permissions to perform this action. Permissions needed: serviceaccounts:read"}),
        ],
    )
    assert result["failed"] is True
    assert "search service account 'cx-kpi': HTTP 403 (permission denied" in result["msg"]
    assert "serviceaccounts:read" in result["msg"]
