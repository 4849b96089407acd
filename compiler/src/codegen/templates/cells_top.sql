SELECT
  c.*,
  row_number() OVER (
    PARTITION BY {{ partition }}
    ORDER BY c.value DESC NULLS LAST, {{ target }}
  ) AS _tally_rank
FROM (
  {{ cells }}
) AS c
