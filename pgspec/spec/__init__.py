"""The YAML spec: reading it (positions kept), validating it, expanding traits, building a Catalog.

The entry point is ``pgspec.sources.spec.load_spec``; the modules here are its parts:
yaml_loader (text -> positioned data), traits (expansion), models (the input format),
positions (errors back to file:line), names/sqlcheck (pglast helpers), build and validate.
"""
