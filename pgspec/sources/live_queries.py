"""The catalog queries the live reader sends: one per object kind, whatever the schema size.

Each query returns every object of its kind in the selected schemas (``%(schemas)s``, a text
array), with the parts that belong to an object (columns, keys, arguments, comments) gathered
into arrays or JSON in the same query, so the number of round trips never grows with the number
of tables (DESIGN.md, "Reading a live database"; a query per table is a bug).

They run inside the reader's transaction with ``search_path = ''``, so every deparser
(``format_type``, ``pg_get_expr``, ``pg_get_viewdef``, ...) schema-qualifies user objects the
same way every time; pg_catalog stays implicitly searched, so catalog names need no prefix.

Columns that differ between server versions are placeholders (``{name}``) filled from
``fragments(version)``; ``queries(version)`` returns the composed statements. Objects that
belong to an extension (``pg_depend.deptype = 'e'``) are excluded everywhere, as are objects the
server derives from others (partition clones of constraints, indexes and triggers). The lists
of extension members are read through pg_depend's index on the referenced object
(``refclassid = 'pg_extension'``, which every membership has): a scan of the whole of pg_depend,
200,000 rows for 3,000 tables, cost 6 ms in each query that needed the list.
"""

from __future__ import annotations

from psycopg import sql

#: Oldest server the reader supports: SQL-standard function bodies and ``tgparentid`` exist
#: from 14 on.
MIN_SERVER_VERSION = 140000

#: ``schemas=None``: every schema except the system ones (pg_toast_temp_N matches pg_toast%).
SCHEMAS = sql.SQL(
    r"""
SELECT n.nspname AS name, d.description AS comment
FROM pg_namespace n
LEFT JOIN pg_description d
  ON d.objoid = n.oid AND d.classoid = 'pg_namespace'::regclass AND d.objsubid = 0
WHERE CASE WHEN %(all)s
           THEN n.nspname NOT IN ('pg_catalog', 'information_schema')
                AND n.nspname NOT LIKE 'pg\_toast%%' AND n.nspname NOT LIKE 'pg\_temp%%'
           ELSE n.nspname = ANY(%(schemas)s) END
  AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = 'pg_namespace'::regclass
                  AND e.objid = n.oid AND e.deptype = 'e')
ORDER BY n.nspname
"""
)

#: Extensions installed into a selected schema. Those initdb created (plpgsql, oid below
#: FirstNormalObjectId) are part of the server, as pg_dump treats them.
EXTENSIONS = sql.SQL(
    """
SELECT x.extname AS name, n.nspname AS schema, x.extversion AS version, d.description AS comment
FROM pg_extension x
JOIN pg_namespace n ON n.oid = x.extnamespace
LEFT JOIN pg_description d
  ON d.objoid = x.oid AND d.classoid = 'pg_extension'::regclass AND d.objsubid = 0
WHERE n.nspname = ANY(%(schemas)s) AND x.oid >= 16384
ORDER BY x.extname
"""
)

#: Collations (CREATE COLLATION) with their owner: the locale of an ICU or builtin one (where
#: each release keeps it: colllocale from 17, colliculocale in 15 and 16, collcollate in 14),
#: the LC_COLLATE/LC_CTYPE of a libc one, ICU rules from 16. Only those of the database's
#: encoding or of any (-1): others cannot be used in it. Their own query: no other reads
#: pg_collation rows, and the owner rides here since a collation has no ACL for ACLS to read.
COLLATIONS = sql.SQL(
    """
SELECT n.nspname AS schema, c.collname AS name, c.collprovider::text AS provider,
       c.collisdeterministic AS deterministic,
       CASE WHEN c.collprovider = 'c' THEN c.collcollate END AS lc_collate,
       CASE WHEN c.collprovider = 'c' THEN c.collctype END AS lc_ctype,
       CASE WHEN c.collprovider <> 'c' THEN {collation_locale} END AS locale,
       {collation_rules} AS rules,
       pg_get_userbyid(c.collowner) AS owner, d.description AS comment
FROM pg_collation c
JOIN pg_namespace n ON n.oid = c.collnamespace
LEFT JOIN pg_description d
  ON d.objoid = c.oid AND d.classoid = 'pg_collation'::regclass AND d.objsubid = 0
WHERE n.nspname = ANY(%(schemas)s)
  AND c.collencoding IN (-1, pg_char_to_encoding(getdatabaseencoding()))
  AND c.oid NOT IN {extension_collations}
ORDER BY n.nspname, c.collname
"""
)

ENUMS = sql.SQL(
    """
SELECT n.nspname AS schema, t.typname AS name,
       ARRAY(SELECT e.enumlabel FROM pg_enum e WHERE e.enumtypid = t.oid
             ORDER BY e.enumsortorder) AS labels,
       d.description AS comment
FROM pg_type t
JOIN pg_namespace n ON n.oid = t.typnamespace
LEFT JOIN pg_description d
  ON d.objoid = t.oid AND d.classoid = 'pg_type'::regclass AND d.objsubid = 0
WHERE t.typtype = 'e' AND n.nspname = ANY(%(schemas)s)
  AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = 'pg_type'::regclass
                  AND e.objid = t.oid AND e.deptype = 'e')
ORDER BY n.nspname, t.typname
"""
)

#: Domain CHECK constraints come as JSON; NOT NULL is typnotnull (PostgreSQL 17 also keeps a
#: contype 'n' row for it, which is skipped). The collation is returned only when the domain
#: sets one its base type does not have.
DOMAINS = sql.SQL(
    """
SELECT n.nspname AS schema, t.typname AS name,
       format_type(t.typbasetype, t.typtypmod) AS type,
       t.typnotnull AS not_null, t.typdefault AS "default",
       CASE WHEN t.typcollation <> b.typcollation THEN cn.nspname END AS collation_schema,
       CASE WHEN t.typcollation <> b.typcollation THEN co.collname END AS collation_name,
       COALESCE((SELECT json_agg(json_build_object(
                     'name', c.conname, 'expression', pg_get_expr(c.conbin, 0),
                     'validated', c.convalidated) ORDER BY c.conname)
                 FROM pg_constraint c WHERE c.contypid = t.oid AND c.contype = 'c'),
                '[]') AS checks,
       d.description AS comment
FROM pg_type t
JOIN pg_namespace n ON n.oid = t.typnamespace
JOIN pg_type b ON b.oid = t.typbasetype
LEFT JOIN pg_collation co ON co.oid = t.typcollation
LEFT JOIN pg_namespace cn ON cn.oid = co.collnamespace
LEFT JOIN pg_description d
  ON d.objoid = t.oid AND d.classoid = 'pg_type'::regclass AND d.objsubid = 0
WHERE t.typtype = 'd' AND n.nspname = ANY(%(schemas)s)
  AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = 'pg_type'::regclass
                  AND e.objid = t.oid AND e.deptype = 'e')
ORDER BY n.nspname, t.typname
"""
)

#: Tables, partitioned tables, views, materialized views and composite types (relkind c, whose
#: comment lives on the type). A table's columns come from COLUMNS, one row each; a view's
#: output column names come here as an array, a composite type's attributes as JSON (with the
#: collation only when it differs from its type's default). Objects of extensions are left out
#: through one hashed list of their members, not a lookup per relation.
RELATIONS = sql.SQL(
    """
SELECT c.oid, n.nspname AS schema, c.relname AS name, c.relkind, c.relpersistence,
       c.relrowsecurity, c.relforcerowsecurity, c.relispartition, c.relispopulated, c.reloptions,
       CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END AS partition_by,
       CASE WHEN c.relispartition THEN pg_get_expr(c.relpartbound, c.oid) END AS partition_bound,
       (SELECT json_agg(json_build_array(pn.nspname, p.relname) ORDER BY i.inhseqno)
        FROM pg_inherits i
        JOIN pg_class p ON p.oid = i.inhparent
        JOIN pg_namespace pn ON pn.oid = p.relnamespace
        WHERE i.inhrelid = c.oid) AS parents,
       CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END AS query,
       CASE WHEN c.relkind IN ('v', 'm')
            THEN ARRAY(SELECT a.attname FROM pg_attribute a
                       WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                       ORDER BY a.attnum) END AS view_columns,
       CASE WHEN c.relkind = 'c' THEN (
           SELECT json_agg(json_build_object(
                      'name', a.attname,
                      'type', format_type(a.atttypid, a.atttypmod),
                      'collation', CASE WHEN a.attcollation <> at.typcollation
                                        THEN json_build_array(acn.nspname, aco.collname) END)
                      ORDER BY a.attnum)
           FROM pg_attribute a
           JOIN pg_type at ON at.oid = a.atttypid
           LEFT JOIN pg_collation aco ON aco.oid = a.attcollation
           LEFT JOIN pg_namespace acn ON acn.oid = aco.collnamespace
           WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) END AS attributes,
       CASE WHEN c.relkind = 'c' THEN td.description ELSE d.description END AS comment
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_description d
  ON d.objoid = c.oid AND d.classoid = 'pg_class'::regclass AND d.objsubid = 0
LEFT JOIN pg_description td
  ON td.objoid = c.reltype AND td.classoid = 'pg_type'::regclass AND td.objsubid = 0
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'c') AND n.nspname = ANY(%(schemas)s)
  AND c.oid NOT IN {extension_relations}
  AND c.reltype NOT IN {extension_types}
ORDER BY n.nspname, c.relname
"""
)

#: The columns of every table, partitioned table and materialized view in the selected schemas, one row each in
#: attnum order, keyed by the table's oid (``relation``). One flat scan of pg_attribute costs a
#: fraction of gathering each table's columns in a subquery of RELATIONS, and the reader also
#: resolves constraint and index column numbers through these rows. Tables of extensions are
#: read too and simply never looked up. The collation is returned only when it differs from
#: the column type's default collation. A default cannot refer to columns (only a generated
#: column's expression can), so pg_get_expr deparses it without the table (relid 0): naming
#: the table makes the server open it and build its relation cache entry, half of this
#: query's time on a cold connection.
#: The reader unpacks these rows by position (live._Reader.read_columns): keep the order.
COLUMNS = sql.SQL(
    """
SELECT a.attrelid AS relation, a.attnum, a.attname AS name,
       format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS not_null,
       pg_get_expr(ad.adbin, CASE WHEN a.attgenerated = '' THEN 0 ELSE ad.adrelid END)
         AS "default",
       a.attgenerated AS generated,
       a.attidentity AS identity, acn.nspname AS collation_schema, aco.collname AS collation_name,
       ac.description AS comment, a.atttypid AS type_oid, a.attcollation AS collation_oid
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
LEFT JOIN pg_collation aco ON aco.oid = a.attcollation AND a.attcollation <> t.typcollation
LEFT JOIN pg_namespace acn ON acn.oid = aco.collnamespace
LEFT JOIN pg_description ac
  ON ac.objoid = a.attrelid AND ac.classoid = 'pg_class'::regclass AND ac.objsubid = a.attnum
WHERE c.relkind IN ('r', 'p', 'm') AND n.nspname = ANY(%(schemas)s)
  AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attrelid, a.attnum
"""
)

#: Sequences, except those behind identity columns (an internal dependency, deptype 'i', on
#: the column); owned_by comes from the automatic dependency (deptype 'a') OWNED BY records.
SEQUENCES = sql.SQL(
    """
SELECT n.nspname AS schema, c.relname AS name, format_type(s.seqtypid, NULL) AS type,
       s.seqstart AS start, s.seqincrement AS increment, s.seqmin AS min_value,
       s.seqmax AS max_value, s.seqcache AS cache, s.seqcycle AS cycle,
       own.owner AS owned_by, d.description AS comment
FROM pg_sequence s
JOIN pg_class c ON c.oid = s.seqrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN LATERAL (
    SELECT json_build_array(tn.nspname, t.relname, a.attname) AS owner, dep.deptype
    FROM pg_depend dep
    JOIN pg_class t ON t.oid = dep.refobjid
    JOIN pg_namespace tn ON tn.oid = t.relnamespace
    JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = dep.refobjsubid
    WHERE dep.classid = 'pg_class'::regclass AND dep.objid = c.oid
      AND dep.refclassid = 'pg_class'::regclass AND dep.deptype IN ('a', 'i')
    ORDER BY dep.deptype DESC
    LIMIT 1) own ON true
LEFT JOIN pg_description d
  ON d.objoid = c.oid AND d.classoid = 'pg_class'::regclass AND d.objsubid = 0
WHERE n.nspname = ANY(%(schemas)s) AND own.deptype IS DISTINCT FROM 'i'
  AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = 'pg_class'::regclass
                  AND e.objid = c.oid AND e.deptype = 'e')
ORDER BY n.nspname, c.relname
"""
)

#: Table constraints. NOT NULL constraints (contype 'n', PostgreSQL 18) are the column's
#: not_null; constraint triggers (contype 't') are triggers. Constraints the server clones onto
#: partitions (conparentid) or inherits into children (not conislocal) belong to the parent.
#: Columns come as attribute numbers (``attnums``, ``ref_attnums``, and the backing index's
#: ``index_attnums`` past ``index_key_count`` for INCLUDE) that the reader names through
#: COLUMNS; a subquery per constraint costs more than the rest of the query. Only a foreign
#: key to a table COLUMNS does not read (another schema) gets its referenced names here.
CONSTRAINTS = sql.SQL(
    """
SELECT n.nspname AS schema, r.relname AS "table", c.conname AS name, c.contype,
       c.conrelid AS relation, c.conkey AS attnums,
       CASE WHEN c.contype = 'c' THEN pg_get_expr(c.conbin, c.conrelid) END AS expression,
       fn.nspname AS ref_schema, f.relname AS ref_table, c.confrelid AS ref_relation,
       c.confkey AS ref_attnums,
       CASE WHEN c.contype = 'f' AND NOT (fn.nspname = ANY(%(schemas)s) AND f.relkind IN ('r', 'p'))
            THEN ARRAY(SELECT a.attname FROM unnest(c.confkey) WITH ORDINALITY k(attnum, ord)
                       JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.attnum
                       ORDER BY k.ord) END AS ref_columns,
       c.confdeltype, c.confupdtype, c.confmatchtype, c.condeferrable, c.condeferred,
       COALESCE({nulls_not_distinct}, false) AS nulls_not_distinct,
       i.indkey::int2[] AS index_attnums, i.indnkeyatts AS index_key_count,
       c.connoinherit AS no_inherit,
       CASE WHEN c.contype = 'x' THEN pg_get_constraintdef(c.oid) END AS definition,
       c.convalidated AS validated, {enforced} AS enforced, {period} AS period,
       {delete_set_columns} AS delete_set_columns,
       d.description AS comment
FROM pg_constraint c
JOIN pg_class r ON r.oid = c.conrelid
JOIN pg_namespace n ON n.oid = r.relnamespace
LEFT JOIN pg_class f ON f.oid = c.confrelid
LEFT JOIN pg_namespace fn ON fn.oid = f.relnamespace
LEFT JOIN pg_index i ON i.indexrelid = c.conindid AND c.contype IN ('p', 'u', 'x')
LEFT JOIN pg_description d
  ON d.objoid = c.oid AND d.classoid = 'pg_constraint'::regclass AND d.objsubid = 0
WHERE c.contype IN ('p', 'u', 'f', 'c', 'x') AND n.nspname = ANY(%(schemas)s)
  AND r.relkind IN ('r', 'p') AND c.conparentid = 0 AND c.conislocal
  AND r.oid NOT IN {extension_relations}
ORDER BY n.nspname, r.relname, c.conname
"""
)

#: Indexes on tables and materialized views, except those backing a primary key, unique or
#: exclusion constraint and those the server attached to a partitioned parent's index.
#: Each key comes as pg_index has it (``attnums``, with 0 for an expression; ``options``,
#: the DESC and NULLS FIRST bits; ``collations``; ``opclasses``), and for an index with
#: expressions each expression key as ``pg_get_indexdef(index, n, false)`` prints it with the
#: index attribute's type (``key_types``). The reader decides from these, COLUMNS and
#: DEFAULT_OPCLASSES whether every key is plain (``_Reader.plain_keys``): ruleutils then
#: prints no opclass and no collation, and no CREATE INDEX is needed. An index it cannot
#: decide that way is read whole through INDEX_DEFINITIONS (a query sent only when there is
#: one), and parsed. Per-key subqueries here cost more than the rest of the read of 3,000
#: tables' indexes, so this query has only per-index ones, and those only for expression
#: indexes and opclass options. INCLUDE columns come as ``attnums`` past ``key_count``.
INDEXES = sql.SQL(
    """
SELECT n.nspname AS schema, ic.relname AS name, t.relname AS "table", i.indisunique AS "unique",
       am.amname AS method,
       pg_get_expr(i.indpred, i.indrelid) AS "where",
       {nulls_not_distinct} AS nulls_not_distinct,
       i.indexrelid AS oid, i.indrelid AS relation, i.indkey::int2[] AS attnums,
       i.indnkeyatts AS key_count, i.indoption::int2[] AS options,
       i.indcollation::oid[] AS collations, i.indclass::oid[] AS opclasses,
       EXISTS (SELECT 1 FROM pg_attribute o
               WHERE o.attrelid = i.indexrelid AND o.attoptions IS NOT NULL) AS opclass_options,
       CASE WHEN i.indexprs IS NOT NULL
            THEN ARRAY(SELECT CASE WHEN i.indkey[g.k - 1] = 0
                                   THEN pg_get_indexdef(i.indexrelid, g.k, false) END
                       FROM generate_series(1, i.indnkeyatts) g(k) ORDER BY g.k) END AS expressions,
       CASE WHEN i.indexprs IS NOT NULL
            THEN ARRAY(SELECT ia.atttypid FROM pg_attribute ia
                       WHERE ia.attrelid = i.indexrelid AND ia.attnum <= i.indnkeyatts
                       ORDER BY ia.attnum) END AS key_types,
       i.indisvalid AS valid, ic.reloptions,
       d.description AS comment
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_class t ON t.oid = i.indrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
JOIN pg_am am ON am.oid = ic.relam
LEFT JOIN pg_description d
  ON d.objoid = ic.oid AND d.classoid = 'pg_class'::regclass AND d.objsubid = 0
WHERE t.relkind IN ('r', 'p', 'm') AND n.nspname = ANY(%(schemas)s) AND NOT ic.relispartition
  AND i.indexrelid NOT IN (SELECT k.conindid FROM pg_constraint k
                           WHERE k.contype IN ('p', 'u', 'x'))
  AND t.oid NOT IN {extension_relations}
  AND ic.oid NOT IN {extension_relations}
ORDER BY n.nspname, ic.relname
"""
)

#: The whole CREATE INDEX of the indexes whose keys the reader cannot decide from INDEXES.
INDEX_DEFINITIONS = sql.SQL(
    """
SELECT i.indexrelid AS oid, pg_get_indexdef(i.indexrelid) AS definition
FROM pg_index i
WHERE i.indexrelid = ANY(%(oids)s)
"""
)

#: Default operator classes and the type each is the default for: ruleutils names a key's
#: opclass unless it is the default one for the key's type.
DEFAULT_OPCLASSES = sql.SQL(
    """
SELECT oc.oid, oc.opcintype FROM pg_opclass oc WHERE oc.opcdefault
"""
)

#: Functions and procedures (aggregates have their own query; window functions are reported
#: as unmodelled),
#: except those the server made for another object (a range type's constructors depend on it
#: internally, deptype 'i') and which go with it.
#: Argument arrays line up: types over all arguments (proallargtypes when there are OUT or
#: TABLE ones), and pg_get_function_arg_default(oid, n), which counts every argument and
#: answers NULL for those without a default.
FUNCTIONS = sql.SQL(
    """
SELECT n.nspname AS schema, p.proname AS name, p.prokind,
       ARRAY(SELECT format_type(u.t, NULL)
             FROM unnest(COALESCE(p.proallargtypes, p.proargtypes::oid[])) WITH ORDINALITY u(t, o)
             ORDER BY u.o) AS arg_types,
       p.proargmodes::text[] AS arg_modes, p.proargnames AS arg_names,
       ARRAY(SELECT pg_get_function_arg_default(p.oid, g.k)
             FROM generate_series(1, cardinality(COALESCE(p.proallargtypes,
                                                          p.proargtypes::oid[]))) g(k)
             ORDER BY g.k) AS arg_defaults,
       format_type(p.prorettype, NULL) AS returns, p.proretset AS returns_set,
       l.lanname AS language,
       CASE WHEN p.prosqlbody IS NOT NULL THEN pg_get_function_sqlbody(p.oid)
            ELSE p.prosrc END AS body,
       p.provolatile, p.proisstrict, p.prosecdef, p.proleakproof, p.proparallel, p.proconfig,
       d.description AS comment
FROM pg_proc p
JOIN pg_namespace n ON n.oid = p.pronamespace
JOIN pg_language l ON l.oid = p.prolang
LEFT JOIN pg_description d
  ON d.objoid = p.oid AND d.classoid = 'pg_proc'::regclass AND d.objsubid = 0
WHERE p.prokind IN ('f', 'p') AND n.nspname = ANY(%(schemas)s)
  AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = 'pg_proc'::regclass
                  AND e.objid = p.oid AND e.deptype IN ('e', 'i'))
ORDER BY n.nspname, p.proname, p.oid
"""
)

#: User aggregates with their pg_aggregate row. Support functions and the sort operator come as
#: (schema, name) pairs (NULL when unset) so the reader spells them the way every source does;
#: the state types through format_type like every other type.
AGGREGATES = sql.SQL(
    """
SELECT n.nspname AS schema, p.proname AS name,
       ARRAY(SELECT format_type(u.t, NULL)
             FROM unnest(p.proargtypes::oid[]) WITH ORDINALITY u(t, o) ORDER BY u.o) AS arg_types,
       p.proargmodes::text[] AS arg_modes, p.proargnames AS arg_names,
       a.aggkind::text AS aggkind, a.aggnumdirectargs AS direct_arguments,
       """ + ",\n       ".join(
        f"(SELECT ARRAY[fn.nspname::text, f.proname::text] FROM pg_proc f"
        f" JOIN pg_namespace fn ON fn.oid = f.pronamespace WHERE f.oid = a.{col}) AS {col}"
        for col in ("aggtransfn", "aggfinalfn", "aggcombinefn", "aggserialfn", "aggdeserialfn",
                    "aggmtransfn", "aggminvtransfn", "aggmfinalfn")
    ) + """,
       format_type(a.aggtranstype, NULL) AS stype, a.aggtransspace AS sspace,
       CASE WHEN a.aggmtranstype <> 0 THEN format_type(a.aggmtranstype, NULL) END AS mstype,
       a.aggmtransspace AS msspace,
       a.aggfinalextra AS finalfunc_extra, a.aggmfinalextra AS mfinalfunc_extra,
       a.aggfinalmodify::text AS finalfunc_modify, a.aggmfinalmodify::text AS mfinalfunc_modify,
       a.agginitval AS initcond, a.aggminitval AS minitcond,
       (SELECT ARRAY[on_.nspname::text, o.oprname::text] FROM pg_operator o
        JOIN pg_namespace on_ ON on_.oid = o.oprnamespace WHERE o.oid = a.aggsortop) AS sortop,
       p.proparallel, d.description AS comment
FROM pg_aggregate a
JOIN pg_proc p ON p.oid = a.aggfnoid
JOIN pg_namespace n ON n.oid = p.pronamespace
LEFT JOIN pg_description d
  ON d.objoid = p.oid AND d.classoid = 'pg_proc'::regclass AND d.objsubid = 0
WHERE n.nspname = ANY(%(schemas)s)
  AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = 'pg_proc'::regclass
                  AND e.objid = p.oid AND e.deptype = 'e')
ORDER BY n.nspname, p.proname, p.oid
"""
)

#: User triggers (not the internal ones behind foreign keys, not the clones the server puts on
#: partitions). The full definition is returned only when there is a WHEN clause: the reader
#: takes that clause from it, since pg_get_expr cannot print OLD/NEW references. UPDATE OF
#: columns come as attribute numbers the reader names through COLUMNS (``update_columns`` only
#: for a relation COLUMNS does not read).
TRIGGERS = sql.SQL(
    """
SELECT n.nspname AS schema, c.relname AS "table", t.tgname AS name, t.tgtype,
       t.tgrelid AS relation, t.tgattr::int2[] AS update_attnums,
       CASE WHEN c.relkind NOT IN ('r', 'p', 'm')
            THEN ARRAY(SELECT a.attname FROM unnest(t.tgattr::int2[]) WITH ORDINALITY u(attnum, ord)
                       JOIN pg_attribute a ON a.attrelid = t.tgrelid AND a.attnum = u.attnum
                       ORDER BY u.ord) END AS update_columns,
       pn.nspname AS function_schema, p.proname AS function_name,
       t.tgnargs AS nargs, t.tgargs AS args,
       CASE WHEN t.tgqual IS NOT NULL THEN pg_get_triggerdef(t.oid) END AS definition,
       t.tgoldtable AS old_table, t.tgnewtable AS new_table, t.tgenabled::text AS enabled,
       t.tgconstraint <> 0 AS is_constraint, t.tgdeferrable AS deferrable,
       t.tginitdeferred AS initially_deferred,
       d.description AS comment
FROM pg_trigger t
JOIN pg_class c ON c.oid = t.tgrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_proc p ON p.oid = t.tgfoid
JOIN pg_namespace pn ON pn.oid = p.pronamespace
LEFT JOIN pg_description d
  ON d.objoid = t.oid AND d.classoid = 'pg_trigger'::regclass AND d.objsubid = 0
WHERE NOT t.tgisinternal AND t.tgparentid = 0 AND n.nspname = ANY(%(schemas)s)
  AND c.oid NOT IN {extension_relations}
ORDER BY n.nspname, c.relname, t.tgname
"""
)

#: Row-level security policies; role oid 0 means PUBLIC.
POLICIES = sql.SQL(
    """
SELECT n.nspname AS schema, c.relname AS "table", p.polname AS name, p.polcmd::text AS command,
       p.polpermissive AS permissive,
       ARRAY(SELECT CASE WHEN r.oid = 0 THEN 'public' ELSE ro.rolname END
             FROM unnest(p.polroles) r(oid)
             LEFT JOIN pg_roles ro ON ro.oid = r.oid) AS roles,
       pg_get_expr(p.polqual, p.polrelid) AS using,
       pg_get_expr(p.polwithcheck, p.polrelid) AS with_check,
       d.description AS comment
FROM pg_policy p
JOIN pg_class c ON c.oid = p.polrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_description d
  ON d.objoid = p.oid AND d.classoid = 'pg_policy'::regclass AND d.objsubid = 0
WHERE n.nspname = ANY(%(schemas)s)
  AND c.oid NOT IN {extension_relations}
ORDER BY n.nspname, c.relname, p.polname
"""
)

#: Everything pgspec does not model, in one pass, so nothing is skipped silently. Each row is
#: (object_type, schema or NULL, name, detail or NULL): the reader builds the warning text.
#: Casts the server made for a type (a range's multirange casts) are part of that type.
#: Event triggers and publications have no schema: they are reported when they exist (event
#: triggers) or when they publish something in the selected schemas (publications).
UNMODELLED = sql.SQL(
    r"""
WITH sel AS (SELECT oid, nspname FROM pg_namespace WHERE nspname = ANY(%(schemas)s)),
ext AS (SELECT classid, objid FROM pg_depend
        WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e')
SELECT 'window function' AS object_type,
       s.nspname AS schema, p.proname AS name,
       pg_get_function_identity_arguments(p.oid) AS detail
FROM pg_proc p JOIN sel s ON s.oid = p.pronamespace
WHERE p.prokind = 'w'
  AND NOT EXISTS (SELECT 1 FROM ext WHERE classid = 'pg_proc'::regclass AND objid = p.oid)
UNION ALL
SELECT 'operator', s.nspname, o.oprname,
       CASE WHEN o.oprleft = 0 THEN 'NONE' ELSE format_type(o.oprleft, NULL) END || ', '
       || format_type(o.oprright, NULL)
FROM pg_operator o JOIN sel s ON s.oid = o.oprnamespace
WHERE NOT EXISTS (SELECT 1 FROM ext WHERE classid = 'pg_operator'::regclass AND objid = o.oid)
UNION ALL
SELECT 'cast', NULL, format_type(c.castsource, NULL) || ' AS ' || format_type(c.casttarget, NULL),
       NULL
FROM pg_cast c
JOIN pg_type st ON st.oid = c.castsource
JOIN pg_type tt ON tt.oid = c.casttarget
WHERE (st.typnamespace IN (SELECT oid FROM sel) OR tt.typnamespace IN (SELECT oid FROM sel))
  AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = 'pg_cast'::regclass
                  AND e.objid = c.oid AND e.deptype IN ('e', 'i'))
UNION ALL
SELECT 'text search configuration', s.nspname, c.cfgname, NULL
FROM pg_ts_config c JOIN sel s ON s.oid = c.cfgnamespace
WHERE NOT EXISTS (SELECT 1 FROM ext WHERE classid = 'pg_ts_config'::regclass AND objid = c.oid)
UNION ALL
SELECT 'text search dictionary', s.nspname, c.dictname, NULL
FROM pg_ts_dict c JOIN sel s ON s.oid = c.dictnamespace
WHERE NOT EXISTS (SELECT 1 FROM ext WHERE classid = 'pg_ts_dict'::regclass AND objid = c.oid)
UNION ALL
SELECT 'text search parser', s.nspname, c.prsname, NULL
FROM pg_ts_parser c JOIN sel s ON s.oid = c.prsnamespace
WHERE NOT EXISTS (SELECT 1 FROM ext WHERE classid = 'pg_ts_parser'::regclass AND objid = c.oid)
UNION ALL
SELECT 'text search template', s.nspname, c.tmplname, NULL
FROM pg_ts_template c JOIN sel s ON s.oid = c.tmplnamespace
WHERE NOT EXISTS (SELECT 1 FROM ext WHERE classid = 'pg_ts_template'::regclass AND objid = c.oid)
UNION ALL
SELECT 'operator class', s.nspname, c.opcname, a.amname
FROM pg_opclass c JOIN sel s ON s.oid = c.opcnamespace JOIN pg_am a ON a.oid = c.opcmethod
WHERE NOT EXISTS (SELECT 1 FROM ext WHERE classid = 'pg_opclass'::regclass AND objid = c.oid)
UNION ALL
SELECT 'operator family', s.nspname, c.opfname, a.amname
FROM pg_opfamily c JOIN sel s ON s.oid = c.opfnamespace JOIN pg_am a ON a.oid = c.opfmethod
WHERE NOT EXISTS (SELECT 1 FROM ext WHERE classid = 'pg_opfamily'::regclass AND objid = c.oid)
UNION ALL
SELECT 'conversion', s.nspname, c.conname, NULL
FROM pg_conversion c JOIN sel s ON s.oid = c.connamespace
WHERE NOT EXISTS (SELECT 1 FROM ext WHERE classid = 'pg_conversion'::regclass AND objid = c.oid)
UNION ALL
SELECT 'statistics', s.nspname, c.stxname, NULL
FROM pg_statistic_ext c JOIN sel s ON s.oid = c.stxnamespace
WHERE NOT EXISTS (SELECT 1 FROM ext WHERE classid = 'pg_statistic_ext'::regclass
                  AND objid = c.oid)
UNION ALL
SELECT CASE t.typtype WHEN 'r' THEN 'range type' ELSE 'base type' END, s.nspname, t.typname,
       NULL
FROM pg_type t JOIN sel s ON s.oid = t.typnamespace
WHERE t.typtype IN ('r', 'b', 'p')
  AND NOT EXISTS (SELECT 1 FROM pg_type e WHERE e.typarray = t.oid)
  AND NOT EXISTS (SELECT 1 FROM ext WHERE classid = 'pg_type'::regclass AND objid = t.oid)
UNION ALL
SELECT 'foreign table', s.nspname, c.relname, NULL
FROM pg_class c JOIN sel s ON s.oid = c.relnamespace
WHERE c.relkind = 'f'
  AND NOT EXISTS (SELECT 1 FROM ext WHERE classid = 'pg_class'::regclass AND objid = c.oid)
UNION ALL
SELECT 'rule', s.nspname, r.rulename, c.relname
FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class JOIN sel s ON s.oid = c.relnamespace
WHERE r.rulename <> '_RETURN'
  AND NOT EXISTS (SELECT 1 FROM ext WHERE classid = 'pg_class'::regclass AND objid = c.oid)
UNION ALL
SELECT 'event trigger', NULL, e.evtname, e.evtevent
FROM pg_event_trigger e
WHERE NOT EXISTS (SELECT 1 FROM ext WHERE classid = 'pg_event_trigger'::regclass
                  AND objid = e.oid)
UNION ALL
SELECT 'publication', NULL, p.pubname, NULL
FROM pg_publication p
WHERE p.puballtables
   OR EXISTS (SELECT 1 FROM pg_publication_rel pr JOIN pg_class c ON c.oid = pr.prrelid
              WHERE pr.prpubid = p.oid AND c.relnamespace IN (SELECT oid FROM sel))
   {publication_schemas}
UNION ALL
SELECT 'foreign server', NULL, f.srvname, NULL
FROM pg_foreign_server f
WHERE NOT EXISTS (SELECT 1 FROM ext WHERE classid = 'pg_foreign_server'::regclass
                  AND objid = f.oid)
ORDER BY 1, 2, 3, 4
"""
)


def _acl(expression: str) -> str:
    """An ACL as JSON text ``[[grantee or null for PUBLIC, privilege, grantable], ...]``: text,
    not json, because most objects share a handful of ACLs and the reader decodes each
    distinct one once."""
    return (
        "(SELECT json_agg(json_build_array(CASE WHEN a.grantee = 0 THEN NULL"
        " ELSE pg_get_userbyid(a.grantee) END, lower(a.privilege_type), a.is_grantable))::text"
        " FROM aclexplode(" + expression + ") a)"
    )


_RELATION_ACL = (
    "COALESCE(c.relacl, acldefault(CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END::\"char\","
    " c.relowner))"
)

#: Owners and ACLs of every object that has them, one query for all kinds (pgspec.privileges):
#: a NULL ACL is the server's default (acldefault), so the reader sees what a role can do.
#: Columns come only when they carry grants of their own (attacl; no column has a default).
#: Most objects share a handful of ACLs (their owner's default, the same GRANTs): each distinct
#: one is exploded into JSON once (``decoded``) and joined back, not once per object, which
#: was 60 % of this query's time for 3,000 tables. Aggregates (prokind 'a') hold EXECUTE like
#: functions (acldefault 'f'); window functions (prokind 'w', C only) are not modelled.
ACLS = sql.SQL(
    """
WITH sel AS (SELECT oid, nspname FROM pg_namespace WHERE nspname = ANY(%(schemas)s)),
objects AS (
SELECT 'schema' AS "on", s.nspname AS schema, s.nspname AS name, NULL::name AS "column",
       NULL::text[] AS args, pg_get_userbyid(n.nspowner) AS owner,
       COALESCE(n.nspacl, acldefault('n', n.nspowner)) AS acl
FROM sel s JOIN pg_namespace n ON n.oid = s.oid
UNION ALL
SELECT CASE c.relkind WHEN 'S' THEN 'sequence' WHEN 'v' THEN 'view'
                      WHEN 'm' THEN 'materialized_view' ELSE 'table' END,
       s.nspname, c.relname, NULL, NULL, pg_get_userbyid(c.relowner), """ + _RELATION_ACL + """
FROM pg_class c JOIN sel s ON s.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S')
UNION ALL
SELECT 'column', s.nspname, c.relname, a.attname, NULL, NULL, a.attacl
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN sel s ON s.oid = c.relnamespace
WHERE a.attacl IS NOT NULL AND a.attnum > 0 AND NOT a.attisdropped
  AND c.relkind IN ('r', 'p', 'v', 'm')
UNION ALL
SELECT CASE p.prokind WHEN 'p' THEN 'procedure' WHEN 'a' THEN 'aggregate' ELSE 'function' END,
       s.nspname, p.proname, NULL,
       ARRAY(SELECT format_type(u.t, NULL) FROM unnest(p.proargtypes::oid[]) WITH ORDINALITY u(t, o)
             ORDER BY u.o),
       pg_get_userbyid(p.proowner), COALESCE(p.proacl, acldefault('f', p.proowner))
FROM pg_proc p JOIN sel s ON s.oid = p.pronamespace
WHERE p.prokind IN ('f', 'p', 'a')
UNION ALL
SELECT 'type', s.nspname, t.typname, NULL, NULL, pg_get_userbyid(t.typowner),
       COALESCE(t.typacl, acldefault('T', t.typowner))
FROM pg_type t JOIN sel s ON s.oid = t.typnamespace
WHERE t.typtype IN ('e', 'd')
   OR (t.typtype = 'c' AND EXISTS (SELECT 1 FROM pg_class r WHERE r.oid = t.typrelid AND r.relkind = 'c'))
),
decoded AS MATERIALIZED (
SELECT d.acl, """ + _acl("d.acl") + """ AS json
FROM (SELECT DISTINCT acl FROM objects) d
)
SELECT o."on", o.schema, o.name, o."column", o.args, o.owner, d.json AS acl
FROM objects o JOIN decoded d ON d.acl = o.acl
ORDER BY 1, 2, 3, 4
"""
)

#: Default privileges (ALTER DEFAULT PRIVILEGES) of every role: global ones (no schema) and
#: those of the selected schemas. Their ACLs are stored whole, so no acldefault here. Every row
#: also says which role the reader is connected as (``connected``), the usual runner of the
#: scripts compared with this database (pgspec.script_runner); a database without default
#: privileges gives one row of NULLs but that, so the role is always known.
DEFAULT_ACLS = sql.SQL(
    """
SELECT d.role, d.schema, d.objtype, d.acl, current_user AS connected
FROM (VALUES (true)) AS one (always)
LEFT JOIN (
SELECT pg_get_userbyid(d.defaclrole) AS role, n.nspname AS schema,
       d.defaclobjtype::text AS objtype, """ + _acl("d.defaclacl") + """ AS acl
FROM pg_default_acl d
LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace
WHERE d.defaclnamespace = 0 OR n.nspname = ANY(%(schemas)s)
) d ON one.always
ORDER BY 1, 2, 3
"""
)


#: The objects of one system catalog that belong to an extension, for ``oid NOT IN (...)``:
#: read through pg_depend's index on the referenced object (every membership references
#: pg_extension), not a scan of the whole of pg_depend.
_EXTENSION_MEMBERS = sql.SQL(
    "(SELECT e.objid FROM pg_depend e WHERE e.refclassid = 'pg_extension'::regclass"
    " AND e.classid = {catalog}::regclass AND e.deptype = 'e')"
)


def fragments(version: int) -> dict[str, sql.Composable]:
    """The placeholders of the queries: the extension-member lists, and catalog columns that
    exist only from some server version on, or a constant before it.

    PostgreSQL 15 added NULLS NOT DISTINCT, ON DELETE SET NULL (columns), publications of
    whole schemas and colliculocale (17 renamed it colllocale); 16 added ICU rules; 18 added
    NOT ENFORCED constraints and WITHOUT OVERLAPS / PERIOD.
    """
    pg15, pg18 = version >= 150000, version >= 180000
    return {
        "extension_relations": _EXTENSION_MEMBERS.format(catalog=sql.Literal("pg_class")),
        "extension_types": _EXTENSION_MEMBERS.format(catalog=sql.Literal("pg_type")),
        "extension_collations": _EXTENSION_MEMBERS.format(catalog=sql.Literal("pg_collation")),
        "collation_locale": sql.SQL(
            "c.colllocale" if version >= 170000
            else "c.colliculocale" if pg15
            else "CASE WHEN c.collprovider = 'i' THEN c.collcollate END"),
        "collation_rules": sql.SQL("c.collicurules" if version >= 160000 else "NULL::text"),
        "nulls_not_distinct": sql.SQL("i.indnullsnotdistinct" if pg15 else "false"),
        "delete_set_columns": sql.SQL("c.confdelsetcols IS NOT NULL" if pg15 else "false"),
        "enforced": sql.SQL("c.conenforced" if pg18 else "true"),
        "period": sql.SQL("c.conperiod" if pg18 else "false"),
        "publication_schemas": sql.SQL(
            "OR EXISTS (SELECT 1 FROM pg_publication_namespace pn"
            " WHERE pn.pnpubid = p.oid AND pn.pnnspid IN (SELECT oid FROM sel))"
            if pg15
            else ""
        ),
    }


#: Every catalog query in the order the reader sends them (after SCHEMAS, which decides the
#: schema list the others take). RELATIONS comes early: pg_get_viewdef opens each view as the
#: latest committed catalog has it, and the sooner after the snapshot it runs, the smaller the
#: window in which concurrent DDL can make it fail (tests/test_concurrency.py).
KIND_QUERIES: dict[str, sql.SQL] = {
    "extensions": EXTENSIONS,
    "collations": COLLATIONS,
    "enums": ENUMS,
    "domains": DOMAINS,
    "relations": RELATIONS,
    "columns": COLUMNS,
    "sequences": SEQUENCES,
    "constraints": CONSTRAINTS,
    "default_opclasses": DEFAULT_OPCLASSES,
    "indexes": INDEXES,
    "functions": FUNCTIONS,
    "aggregates": AGGREGATES,
    "triggers": TRIGGERS,
    "policies": POLICIES,
    "unmodelled": UNMODELLED,
    "acls": ACLS,
    "default_acls": DEFAULT_ACLS,
}


def queries(version: int) -> dict[str, sql.Composed]:
    """The per-kind queries composed for one server version."""
    parts = fragments(version)
    return {name: template.format(**parts) for name, template in KIND_QUERIES.items()}
