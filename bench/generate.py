"""Realistic multi-tenant schemas of N tables, as SQL to load and as the equivalent pgspec spec.

The benchmark (issue 8) needs schemas shaped like the ones teams with thousands of tables run
the drift check on: every table carries ~13 columns of many types, a primary key, a foreign key
to an earlier table, a CHECK, two indexes of which one partial (some tables add expression
indexes and a unique constraint), an ``_active`` view listing its columns, a trigger calling a
shared plpgsql function, and row level security with a policy. A few enums and functions are
shared by all tables.

The same description is produced twice, as SQL a server can load and as a YAML spec
(docs/spec-format.md), so ``pgspec verify --spec DIR --dsn DSN`` is a meaningful benchmark and
a correctness check: on a freshly loaded database it must find nothing.

SQL fragments in the spec (defaults, checks, WHERE, USING) are written the way the server
deparses them, which is what ``pgspec inspect`` produces and what large teams' specs therefore
look like; view queries are written as a person writes them (unqualified, one line).

Everything is deterministic for a given ``(n_tables, seed)``. Loading is batched: one
transaction per ``BATCH`` tables, so 10,000 tables load in a few minutes without exhausting the
lock table.

Run ``python bench/generate.py N OUTDIR`` to write ``schema.sql`` and ``spec/`` for inspection.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import yaml
from psycopg import sql

from pgspec.quoting import qualified, quote

#: The schema every generated object lives in.
SCHEMA = "public"

#: Tables per loading transaction (and per spec file): small enough for the lock table.
BATCH = 250

#: Shared enums: name -> values. Each table's ``status`` column uses one of them.
ENUMS: dict[str, list[str]] = {
    "record_status": ["draft", "active", "suspended", "archived"],
    "priority_level": ["low", "normal", "high", "urgent"],
    "channel_kind": ["web", "email", "sms", "api"],
    "region_code": ["eu", "us", "apac"],
}

#: Nouns table names are made of (a multi-tenant SaaS: every row belongs to a tenant).
NOUNS = (
    "account", "invoice", "invoice_line", "order", "order_item", "product", "price", "customer",
    "contact", "project", "task", "comment", "attachment", "subscription", "payment", "refund",
    "shipment", "warehouse", "stock_move", "ticket", "message", "campaign", "lead", "deal",
    "report", "dashboard", "widget", "audit_entry", "document", "approval",
)

#: Shared functions, created before the tables (the policies and triggers call them).
#: name -> (arguments, returns, language, volatility, body)
FUNCTIONS: dict[str, tuple[list[dict[str, str]], str, str, str, str]] = {
    "current_tenant_id": (
        [], "uuid", "sql", "stable",
        "SELECT nullif(current_setting('app.tenant_id', true), '')::uuid",
    ),
    "is_tenant_member": (
        [{"name": "p_tenant", "type": "uuid"}], "boolean", "sql", "stable",
        "SELECT p_tenant = public.current_tenant_id()",
    ),
    "bump_version": (
        [], "trigger", "plpgsql", "volatile",
        "\nBEGIN\n  NEW.version := OLD.version + 1;\n  RETURN NEW;\nEND\n",
    ),
}

#: Column names of every table, in order; the ``_active`` view lists all but ``version``
#: (so a drift can change that column's type without touching the view).
VIEW_COLUMNS = (
    "id", "tenant_id", "parent_id", "name", "code", "quantity", "amount", "is_active", "status",
    "attributes", "tags", "created_at",
)

#: The CHECK a table carries: (column it is named after, expression as the server prints it).
CHECKS = (
    ("quantity", "(quantity >= 0)"),
    ("version", "(version > 0)"),
    ("name", "(char_length(name) > 0)"),
)

#: Policy USING expressions (as the server prints them under an empty search_path).
USING = (
    "(tenant_id = public.current_tenant_id())",
    "public.is_tenant_member(tenant_id)",
)


@dataclass(frozen=True)
class TablePlan:
    """The random choices made for one table, from which both the SQL and the spec follow."""

    name: str
    parent: str
    enum: str
    code_length: int
    check: tuple[str, str]
    using: str
    policy_command: str
    lower_name_index: bool
    kind_index: bool
    unique_code: bool


@dataclass(frozen=True)
class GeneratedSchema:
    """One generated schema: SQL to load and the spec that describes exactly the same objects.

    ``preamble`` creates the enums and functions; ``batches`` hold the tables, ``BATCH`` per
    transaction. ``spec`` maps a file name to the YAML document (plain data) written there.
    """

    n_tables: int
    seed: int
    tables: tuple[str, ...]
    preamble: str
    batches: tuple[str, ...]
    spec: dict[str, dict[str, Any]] = field(repr=False)

    @property
    def sql(self) -> str:
        """The whole script, one transaction per batch (what ``psql -f`` would run)."""
        return self.preamble + "".join(self.batches)

    def write_sql(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.sql, encoding="utf-8")
        return path

    def write_spec(self, directory: str | Path) -> Path:
        """Write the spec directory (files in sorted, loading order) and return it."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        for old in directory.glob("*.yaml"):
            old.unlink()
        for name, document in self.spec.items():
            (directory / name).write_text(dump_yaml(document), encoding="utf-8")
        return directory

    def load(self, dsn: str) -> None:
        """Create every object in the database at ``dsn`` (which should be empty)."""
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(self.preamble)
            for batch in self.batches:
                conn.execute(batch)


def dump_yaml(document: dict[str, Any]) -> str:
    """``yaml.safe_dump``, through libyaml's emitter when present (10,000 tables in seconds)."""
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump(document, Dumper=dumper, sort_keys=False, allow_unicode=True, width=100,
                     default_flow_style=None)


def _plans(n_tables: int, seed: int) -> list[TablePlan]:
    rng = random.Random(seed)
    names: list[str] = []
    plans: list[TablePlan] = []
    for i in range(n_tables):
        name = f"{rng.choice(NOUNS)}_{i:05d}"
        # A foreign key to an earlier table (mostly a recent one, as real schemas cluster);
        # the first table refers to itself (a tree of rows).
        parent = name if i == 0 else names[max(0, i - 1 - int(rng.expovariate(0.3)))]
        names.append(name)
        plans.append(
            TablePlan(
                name=name,
                parent=parent,
                enum=rng.choice(list(ENUMS)),
                code_length=rng.choice((16, 32, 64)),
                check=rng.choice(CHECKS),
                using=rng.choice(USING),
                policy_command=rng.choice(("all", "all", "select")),
                lower_name_index=rng.random() < 0.3,
                kind_index=rng.random() < 0.2,
                unique_code=rng.random() < 0.25,
            )
        )
    return plans


def _columns(plan: TablePlan) -> list[tuple[str, str, bool, str | None]]:
    """(name, type as written in SQL, not null, default as the server prints it)."""
    enum_default = f"'{ENUMS[plan.enum][0]}'::{qualified(SCHEMA, plan.enum)}"
    return [
        ("id", "uuid", True, "gen_random_uuid()"),
        ("tenant_id", "uuid", True, None),
        ("parent_id", "uuid", False, None),
        ("name", "text", True, None),
        ("code", f"varchar({plan.code_length})", False, None),
        ("quantity", "integer", True, "0"),
        ("version", "bigint", True, "1"),
        ("amount", "numeric(12,2)", False, None),
        ("is_active", "boolean", True, "true"),
        ("status", qualified(SCHEMA, plan.enum), True, enum_default),
        ("attributes", "jsonb", True, "'{}'::jsonb"),
        ("tags", "text[]", False, None),
        ("created_at", "timestamptz", True, "now()"),
    ]


def _indexes(plan: TablePlan) -> dict[str, dict[str, Any]]:
    """Index name -> spec entry; ``_index_sql`` turns the same entries into SQL."""
    t = plan.name
    found: dict[str, dict[str, Any]] = {
        f"{t}_tenant_idx": {"columns": ["tenant_id", "created_at DESC"]},
        f"{t}_active_idx": {"columns": ["tenant_id", "name"], "where": "is_active"},
    }
    if plan.lower_name_index:
        found[f"{t}_name_lower_idx"] = {"columns": ["lower(name)"]}
    if plan.kind_index:
        found[f"{t}_kind_idx"] = {"columns": ["(attributes ->> 'kind')"], "where": "(attributes ? 'kind')"}
    return found


def _table_sql(plan: TablePlan) -> str:
    t = qualified(SCHEMA, plan.name)
    lines = []
    for name, type_, not_null, default in _columns(plan):
        line = f"    {quote(name)} {type_}"
        if not_null:
            line += " NOT NULL"
        if default is not None:
            line += f" DEFAULT {default}"
        lines.append(line)
    lines.append(f"    CONSTRAINT {quote(plan.name + '_pkey')} PRIMARY KEY (id)")
    if plan.unique_code:
        lines.append(f"    CONSTRAINT {quote(plan.name + '_tenant_id_code_key')} UNIQUE (tenant_id, code)")
    lines.append(
        f"    CONSTRAINT {quote(plan.name + '_parent_id_fkey')} FOREIGN KEY (parent_id)"
        f" REFERENCES {qualified(SCHEMA, plan.parent)} (id) ON DELETE SET NULL"
    )
    column, expression = plan.check
    lines.append(f"    CONSTRAINT {quote(plan.name + '_' + column + '_check')} CHECK {expression}")
    out = [f"CREATE TABLE {t} (\n" + ",\n".join(lines) + "\n);\n"]
    for name, entry in _indexes(plan).items():
        keys = ", ".join(entry["columns"])
        where = f" WHERE {entry['where']}" if "where" in entry else ""
        out.append(f"CREATE INDEX {quote(name)} ON {t} ({keys}){where};\n")
    view_columns = ", ".join(quote(c) for c in VIEW_COLUMNS)
    out.append(
        f"CREATE VIEW {qualified(SCHEMA, plan.name + '_active')} AS"
        f" SELECT {view_columns} FROM {t} WHERE is_active;\n"
    )
    out.append(
        f"CREATE TRIGGER {quote(plan.name + '_bump_version')} BEFORE UPDATE ON {t}"
        f" FOR EACH ROW EXECUTE FUNCTION {qualified(SCHEMA, 'bump_version')}();\n"
    )
    out.append(f"ALTER TABLE {t} ENABLE ROW LEVEL SECURITY;\n")
    policy = f"CREATE POLICY tenant_isolation ON {t} FOR {plan.policy_command.upper()} USING ({plan.using})"
    if plan.policy_command == "all":
        policy += f" WITH CHECK ({plan.using})"
    out.append(policy + ";\n")
    return "".join(out)


def _table_spec(plan: TablePlan) -> dict[str, Any]:
    columns: dict[str, Any] = {}
    for name, type_, not_null, default in _columns(plan):
        entry: dict[str, Any] = {"type": plan.enum if name == "status" else type_}
        if not_null:
            entry["not_null"] = True
        if default is not None:
            entry["default"] = default
        columns[name] = entry
    column, expression = plan.check
    table: dict[str, Any] = {
        "columns": columns,
        "primary_key": ["id"],
    }
    if plan.unique_code:
        table["unique"] = {f"{plan.name}_tenant_id_code_key": ["tenant_id", "code"]}
    table["foreign_keys"] = {
        f"{plan.name}_parent_id_fkey": {
            "columns": ["parent_id"], "references": f"{plan.parent}(id)", "on_delete": "set null",
        }
    }
    table["checks"] = {f"{plan.name}_{column}_check": expression}
    table["indexes"] = _indexes(plan)
    table["rls"] = True
    policy: dict[str, Any] = {"command": plan.policy_command, "using": plan.using}
    if plan.policy_command == "all":
        policy["with_check"] = plan.using
    table["policies"] = {"tenant_isolation": policy}
    table["triggers"] = {
        f"{plan.name}_bump_version": {"timing": "before", "events": ["update"], "function": "bump_version"}
    }
    return table


def _view_query(plan: TablePlan) -> str:
    return f"SELECT {', '.join(quote(c) for c in VIEW_COLUMNS)} FROM {quote(plan.name)} WHERE is_active"


def _preamble_sql() -> str:
    out = ["SET check_function_bodies = on;\n"]
    for name, values in ENUMS.items():
        labels = ", ".join(sql.Literal(v).as_string(None) for v in values)
        out.append(f"CREATE TYPE {qualified(SCHEMA, name)} AS ENUM ({labels});\n")
    for name, (arguments, returns, language, volatility, body) in FUNCTIONS.items():
        args = ", ".join(f"{quote(a['name'])} {a['type']}" for a in arguments)
        out.append(
            f"CREATE FUNCTION {qualified(SCHEMA, name)}({args}) RETURNS {returns}"
            f" LANGUAGE {language} {volatility.upper()} AS $body${body}$body$;\n"
        )
    return "".join(out)


def _preamble_spec() -> dict[str, Any]:
    functions: dict[str, Any] = {}
    for name, (arguments, returns, language, volatility, body) in FUNCTIONS.items():
        functions[name] = {
            "arguments": [dict(a) for a in arguments],
            "returns": returns,
            "language": language,
            "volatility": volatility,
            "body": body,
        }
    return {"schema": SCHEMA, "enums": {k: list(v) for k, v in ENUMS.items()}, "functions": functions}


def _chunks(plans: list[TablePlan]) -> Iterator[list[TablePlan]]:
    for start in range(0, len(plans), BATCH):
        yield plans[start:start + BATCH]


def generate(n_tables: int, seed: int = 0) -> GeneratedSchema:
    """A schema of ``n_tables`` tables and its spec; the same arguments give the same bytes."""
    if n_tables < 1:
        raise ValueError(f"n_tables must be at least 1, not {n_tables!r}")
    plans = _plans(n_tables, seed)
    batches: list[str] = []
    spec: dict[str, dict[str, Any]] = {"00_shared.yaml": _preamble_spec()}
    for number, chunk in enumerate(_chunks(plans)):
        batches.append("BEGIN;\n" + "".join(_table_sql(p) for p in chunk) + "COMMIT;\n")
        spec[f"tables_{number:04d}.yaml"] = {
            "schema": SCHEMA,
            "tables": {p.name: _table_spec(p) for p in chunk},
            "views": {f"{p.name}_active": {"query": _view_query(p)} for p in chunk},
        }
    return GeneratedSchema(
        n_tables=n_tables,
        seed=seed,
        tables=tuple(p.name for p in plans),
        preamble=_preamble_sql(),
        batches=tuple(batches),
        spec=spec,
    )


#: What ``drift`` changes, one statement per drift, on the table it picks for it.
DRIFTS: tuple[tuple[str, str], ...] = (
    ("column default", "ALTER TABLE {t} ALTER COLUMN quantity SET DEFAULT 1"),
    ("dropped index", "DROP INDEX {schema}.{tenant_idx}"),
    ("policy USING", "ALTER POLICY tenant_isolation ON {t} USING (true)"),
    ("view body", "CREATE OR REPLACE VIEW {view} AS SELECT {columns} FROM {t} WHERE NOT is_active"),
    ("column type", "ALTER TABLE {t} ALTER COLUMN version TYPE integer"),
)


def drift(dsn: str) -> list[str]:
    """Apply the five drifts of the benchmark to a loaded database; returns the statements.

    The tables are found in the database (spread over the sorted table names), so any
    generated schema can be drifted knowing only its DSN. With fewer than five tables some
    table takes several drifts.
    """
    with psycopg.connect(dsn, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = %s AND c.relkind = 'r' ORDER BY c.relname",
            (SCHEMA,),
        ).fetchall()
        tables = [r[0] for r in rows]
        if not tables:
            raise ValueError("no generated tables to drift in this database")
        applied: list[str] = []
        with conn.transaction():
            for number, (_what, template) in enumerate(DRIFTS):
                table = tables[(number * len(tables)) // len(DRIFTS)]
                statement = template.format(
                    t=qualified(SCHEMA, table),
                    schema=quote(SCHEMA),
                    tenant_idx=quote(f"{table}_tenant_idx"),
                    view=qualified(SCHEMA, f"{table}_active"),
                    columns=", ".join(quote(c) for c in VIEW_COLUMNS),
                )
                conn.execute(statement)
                applied.append(statement)
        return applied


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write a generated schema as SQL and as a spec.")
    parser.add_argument("tables", type=int)
    parser.add_argument("outdir")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    schema = generate(args.tables, args.seed)
    out = Path(args.outdir)
    schema.write_sql(out / "schema.sql")
    schema.write_spec(out / "spec")
    print(f"wrote {out / 'schema.sql'} and {out / 'spec'}/ ({args.tables} tables)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
