{#-
  The project's table materialization on DuckDB: one `create or replace table ... as (select)`.

  dbt-duckdb's own builds the table under a temporary name, renames the old table to a backup, renames
  the new one into place, commits and drops the backup, looking for indexes, foreign keys, grants and
  table comments on the way. This project uses none of those (no contracts, grants, indexes or
  persisted docs; every model is SQL), and DuckDB replaces a table in one atomic statement: a build
  that fails leaves the previous table as it was, as dbt's swap does. Same rows, with a sixth less of a
  build's CPU on a small inbox (docs/decisions.md, "A lean table materialization for dbt"). A model
  that asks for anything this does not do is refused in words and builds nothing.
-#}
{% materialization table, adapter="duckdb", supported_languages=["sql"] %}
  {%- for unsupported in ["contract", "grants", "indexes", "partitioned_by", "sorted_by", "persist_docs"] -%}
    {%- set value = config.get(unsupported) -%}
    {%- if value and (unsupported != "contract" or value.enforced) -%}
      {{ exceptions.raise_compiler_error("model " ~ model.name ~ " sets " ~ unsupported ~ ", which the project's "
          ~ "table materialization (dbt/macros/materialization_table.sql) does not support") }}
    {%- endif -%}
  {%- endfor -%}
  {%- set existing_relation = load_cached_relation(this) -%}
  {%- set target_relation = this.incorporate(type="table") -%}

  {{ run_hooks(pre_hooks, inside_transaction=False) }}
  {{ run_hooks(pre_hooks, inside_transaction=True) }}

  {%- if existing_relation is not none and not existing_relation.is_table %}
    {{ adapter.drop_relation(existing_relation) }}
  {%- endif %}
  {% call statement("main") -%}
    {%- set sql_header = config.get("sql_header", none) -%}
    {{ sql_header if sql_header is not none }}
    create or replace table {{ target_relation }} as (
      {{ compiled_code }}
    );
  {%- endcall %}
  {% do adapter.cache_added(target_relation) %}

  {{ run_hooks(post_hooks, inside_transaction=True) }}
  {{ adapter.commit() }}
  {{ run_hooks(post_hooks, inside_transaction=False) }}

  {{ return({"relations": [target_relation]}) }}
{% endmaterialization %}
