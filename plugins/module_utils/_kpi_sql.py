# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CX-Catalyst platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Splitting SQL text into statements the way ``psql`` does, for kpi_schema.

Private to this collection (the leading underscore). Plain Python (no Ansible, no psycopg2), so tests, tools
and benchmarks can use the same splitter the module applies files with.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

DOLLAR_TAG = re.compile(r"\$(?:[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$")


class SqlFileError(ValueError):
    """A problem with a SQL file found before anything is sent to the server."""


def _skip_quoted(text, i, line, quote, backslash_escapes):
    """Index after the quoted literal/identifier opening at ``i``; SqlFileError if it never closes."""
    j, n = i + 1, len(text)
    while j < n:
        ch = text[j]
        if backslash_escapes and ch == "\\":
            j += 2
            continue
        if ch == quote:
            if j + 1 < n and text[j + 1] == quote:
                j += 2
                continue
            return j + 1
        j += 1
    what = "identifier" if quote == '"' else "string"
    raise SqlFileError("unterminated quoted %s starting at line %d" % (what, line))


def split_sql(text):
    """Split SQL text into statements as psql would; returns ``[(first_line, statement), ...]``.

    Honours '...' (with '' and E'..\\'..'), "..." identifiers, $tag$ dollar quotes, -- and nested /* */
    comments. Semicolons inside any of those do not end a statement. Empty statements are dropped.
    """
    statements = []
    n = len(text)
    i, line = 0, 1
    start = start_line = None
    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
            i += 1
            continue
        if c.isspace():
            i += 1
            continue
        if text.startswith("--", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
            continue
        if text.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            if depth:
                raise SqlFileError("unterminated /* comment starting at line %d" % line)
            line += text.count("\n", i, j)
            i = j
            continue
        if c == "\\":
            raise SqlFileError("backslash outside a string at line %d: psql meta-commands (\\i, \\set, ...) are not supported" % line)
        if c == ";":
            if start is not None:
                statements.append((start_line, text[start:i].strip()))
                start = None
            i += 1
            continue
        if start is None:
            start, start_line = i, line
        prev = text[i - 1] if i else ""
        if c == "'":
            escape = prev in ("e", "E") and (i < 2 or not (text[i - 2].isalnum() or text[i - 2] in "_$"))
            j = _skip_quoted(text, i, line, "'", escape)
        elif c == '"':
            j = _skip_quoted(text, i, line, '"', False)
        elif c == "$" and not (prev.isalnum() or prev in "_$"):
            match = DOLLAR_TAG.match(text, i)
            if not match:
                i += 1
                continue
            end = text.find(match.group(0), match.end())
            if end < 0:
                raise SqlFileError("unterminated dollar-quoted string %s starting at line %d" % (match.group(0), line))
            j = end + len(match.group(0))
        else:
            i += 1
            continue
        line += text.count("\n", i, j)
        i = j
    if start is not None and text[start:].strip():
        statements.append((start_line, text[start:].strip()))
    return statements


def is_transaction_control(statement):
    """True for BEGIN/COMMIT/ROLLBACK/... at the top level (PL/pgSQL bodies are inside dollar quotes)."""
    words = re.findall(r"[A-Za-z_]+", statement.upper())[:2] + ["", ""]
    if words[0] in ("BEGIN", "COMMIT", "END", "ABORT"):
        return True
    if words[0] == "ROLLBACK":
        return words[1] != "TO"
    return words[0] in ("START", "PREPARE") and words[1] == "TRANSACTION"
