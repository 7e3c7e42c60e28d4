"""The demo-data loader with an admin password holding ':' and '\\' (issue 8 defect 6), on a real PostgreSQL.

The loader gets the password through a temporary .pgpass file, where ':' and '\\' must be escaped exactly once
(libpq: "If an entry needs to contain : or \\, escape this character with \\"). The role used to escape twice,
so libpq read a different password and the load failed with "password authentication failed".
"""

from __future__ import annotations

import pytest
from psycopg2 import sql as pgsql

from conftest import REPO, recap

from test_kpi_database_role import recap, role_vars

PLAYBOOK = REPO / "playbooks" / "database.yml"


@pytest.mark.parametrize("password", ["Planted:Colon:Pw-3e9a", "Planted\\Backslash\\Pw-8c21", "Planted\\:Both:\\\\Pw-5d07"], ids=["colon", "backslash", "both"])
def test_demo_data_loads_with_colon_and_backslash_in_the_password(pg_server, pg_db, ansible, inventory, password):
    admin = "admin_%s" % pg_db
    conn = pg_server.connect()
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(pgsql.SQL("CREATE ROLE {} LOGIN SUPERUSER PASSWORD %s").format(pgsql.Identifier(admin)), (password,))
    finally:
        conn.close()
    ansible.add_secret(password)
    try:
        extra = role_vars(
            pg_server,
            pg_db,
            kpi_database_admin_user=admin,
            kpi_database_admin_password=password,
            kpi_database_reader_enabled=False,
            kpi_database_api_pricing=[],
            kpi_database_token_budgets=[],
            kpi_database_demo_days=2,
            kpi_database_demo_cases_per_day=10,
        )
        res = ansible.playbook(PLAYBOOK, extra_vars=extra, inventory=inventory, expect_rc=None)
        assert res.rc == 0, res.output[-4000:]
        assert recap(res.output)["failed"] == 0
        cases = pg_server.execute("SELECT count(*) FROM cases", dbname=pg_db)[0][0]
        assert cases > 0
    finally:
        pg_server.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", params=(admin,))
        pg_server.execute('DROP OWNED BY "%s"' % admin, dbname=pg_db)  # admin: admin_t<pid>_<n>, no quoting needed
        pg_server.execute('DROP ROLE "%s"' % admin)
