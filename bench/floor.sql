-- The floor of the benchmark: everything a schema comparison must at least read, in one query.
-- Every column of every relation of the schema with its type, nullability and default, the way
-- a hand-written `psql` check would read it. `bench/run.py` runs this once per database through
-- the server's own psql and reports the sum: no tool can compare two databases' columns faster.
SELECT c.relname,
       c.relkind,
       a.attnum,
       a.attname,
       format_type(a.atttypid, a.atttypmod) AS type,
       a.attnotnull,
       pg_get_expr(d.adbin, d.adrelid) AS default_value
  FROM pg_attribute a
  JOIN pg_class c ON c.oid = a.attrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE n.nspname = 'public'
   AND a.attnum > 0
   AND NOT a.attisdropped
 ORDER BY c.relname, a.attnum;
