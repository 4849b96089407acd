#!/usr/bin/env python3
"""The dbt peer of `tally gen-project`: the same shape, written as a dbt project with the dbt
semantic layer (dbt-core + dbt-duckdb), for `bench/compile/run.sh`.

Per source (one per ten metrics): a model selecting from a source table, a semantic model with
its measures, six simple metrics (three filtered), two ratios, two derived sums, and
`--chain-depth` more derived metrics, each built on the one before. Same options, same bytes.

    python3 bench/compile/dbt_project.py --metrics 10000 --out /tmp/dbt_10k
"""
import argparse
import os


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--metrics", type=int, default=1000)
    parser.add_argument("--chain-depth", type=int, default=0)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    per_source = 10 + args.chain_depth
    sources = -(-args.metrics // per_source)
    os.makedirs(os.path.join(args.out, "models"), exist_ok=False)
    write(args.out, "dbt_project.yml", DBT_PROJECT)
    write(args.out, "profiles.yml", PROFILES)
    write(args.out, "models/time_spine.sql", TIME_SPINE_SQL)
    write(args.out, "models/time_spine.yml", TIME_SPINE_YML)
    remaining = args.metrics
    source_yml = ["version: 2", "sources:", "  - name: raw", "    schema: main", "    tables:"]
    for s in range(sources):
        n = f"{s:05}"
        source_yml.append(f"      - name: events_{n}")
        count = min(remaining, per_source)
        remaining -= count
        write(args.out, f"models/events_{n}.sql",
              f"select event_id, occurred_at, site_code, kind, amount, flagged\n"
              f"from {{{{ source('raw', 'events_{n}') }}}}\n")
        write(args.out, f"models/events_{n}.yml", semantic(n, count))
    write(args.out, "models/sources.yml", "\n".join(source_yml) + "\n")


def semantic(n, count):
    m = lambda name: f"m{n}_{name}"
    simple = [
        ("events", "events", None),
        ("amount", "amount", None),
        ("sites", "sites", None),
        ("alpha_events", "events", f"{{{{ Dimension('event_{n}__kind') }}}} = 'alpha'"),
        ("flagged_amount", "amount", f"{{{{ Dimension('event_{n}__flagged') }}}}"),
        ("beta_sites", "sites", f"{{{{ Dimension('event_{n}__kind') }}}} = 'beta'"),
    ]
    lines = [
        "version: 2",
        "semantic_models:",
        f"  - name: events_{n}",
        f"    model: ref('events_{n}')",
        "    defaults:",
        "      agg_time_dimension: occurred_at",
        "    entities:",
        f"      - name: event_{n}",
        "        type: primary",
        "        expr: event_id",
        "    dimensions:",
        "      - name: occurred_at",
        "        type: time",
        "        type_params:",
        "          time_granularity: day",
        "      - name: site_code",
        "        type: categorical",
        "      - name: kind",
        "        type: categorical",
        "      - name: flagged",
        "        type: categorical",
        "    measures:",
        f"      - name: events_{n}_events",
        "        agg: count",
        "        expr: event_id",
        f"      - name: events_{n}_amount",
        "        agg: sum",
        "        expr: amount",
        f"      - name: events_{n}_sites",
        "        agg: count_distinct",
        "        expr: site_code",
        "metrics:",
    ]
    made = []
    for name, measure, where in simple[:count]:
        lines += [f"  - name: {m(name)}", f"    label: {name} of feed {n}", "    type: simple",
                  "    type_params:", f"      measure: events_{n}_{measure}"]
        if where:
            lines += ["    filter: |", f"      {where}"]
        made.append(name)
    derived = [
        ("amount_per_event", "ratio", ("amount", "events")),
        ("flagged_share", "ratio", ("flagged_amount", "amount")),
        ("all_amount", "derived", ("amount", "flagged_amount")),
        ("alpha_and_events", "derived", ("alpha_events", "events")),
    ]
    for name, kind, (a, b) in derived[: max(0, count - len(simple))]:
        lines += [f"  - name: {m(name)}", f"    label: {name} of feed {n}", f"    type: {kind}",
                  "    type_params:"]
        if kind == "ratio":
            lines += [f"      numerator: {m(a)}", f"      denominator: {m(b)}"]
        else:
            lines += ["      expr: lhs + rhs", "      metrics:", f"        - name: {m(a)}", "          alias: lhs",
                      f"        - name: {m(b)}", "          alias: rhs"]
    previous = m("all_amount")
    for c in range(max(0, count - len(simple) - len(derived))):
        name = m(f"chain_{c + 1}")
        lines += [f"  - name: {name}", f"    label: chain {c + 1} of feed {n}", "    type: derived",
                  "    type_params:", "      expr: lhs + rhs", "      metrics:", f"        - name: {previous}",
                  "          alias: lhs", f"        - name: {m('amount')}", "          alias: rhs"]
        previous = name
    return "\n".join(lines) + "\n"


def write(root, name, text):
    with open(os.path.join(root, name), "w") as f:
        f.write(text)


DBT_PROJECT = """name: synthetic
version: "1.0.0"
config-version: 2
profile: synthetic
model-paths: ["models"]
models:
  synthetic:
    +materialized: table
"""

PROFILES = """synthetic:
  target: dev
  outputs:
    dev:
      type: duckdb
      path: synthetic.duckdb
      threads: 2
"""

TIME_SPINE_SQL = """select cast(range as date) as date_day
from range(date '2020-01-01', date '2030-01-01', interval 1 day)
"""

TIME_SPINE_YML = """version: 2
models:
  - name: time_spine
    time_spine:
      standard_granularity_column: date_day
    columns:
      - name: date_day
        granularity: day
"""

if __name__ == "__main__":
    main()
