# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CX-Catalyst platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Connection options shared by every kpi_* PostgreSQL module
    # (plugins/module_utils/_kpi_postgres.py kpi_postgres_argument_spec()).
    DOCUMENTATION = r"""
options:
  login_host:
    description:
      - Host name or IP address of the PostgreSQL server, or a directory holding its Unix socket.
    type: str
    default: localhost
  login_port:
    description:
      - TCP port of the PostgreSQL server.
    type: int
    default: 5432
  login_db:
    description:
      - Database holding the KPI schema.
    type: str
    required: true
    aliases: [db]
  login_user:
    description:
      - Role to log in as. It needs the rights to create the KPI tables, views and grants.
    type: str
    default: postgres
  login_password:
    description:
      - Password of O(login_user). Never shown in results, diffs, errors or logs.
      - Omit it to use C(~/.pgpass), C(PGPASSWORD) or peer/trust authentication.
    type: str
  ssl_mode:
    description:
      - libpq C(sslmode) of the connection.
    type: str
    default: prefer
    choices: [disable, allow, prefer, require, verify-ca, verify-full]
  ca_cert:
    description:
      - CA certificate file used to verify the server (libpq C(sslrootcert)).
    type: path
    aliases: [ssl_rootcert]
  connect_timeout:
    description:
      - Seconds to wait for the server to answer while connecting, so an unreachable or stuck server
        gives an error instead of a hang (libpq's minimum is 2).
    type: int
    default: 10
requirements:
  - psycopg2 on the host that runs the module
notes:
  - All changes of one task are made in one transaction; an error rolls back everything the task did.
  - Concurrent runs on the same object wait for each other (transaction-level advisory lock), so two runs
    at once create a row only once.
  - Set these options once for all kpi_* modules with C(module_defaults) and the
    C(group/cx_catalyst.kpi_dashboard.postgres) action group.
"""
