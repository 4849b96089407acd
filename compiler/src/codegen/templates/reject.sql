INSERT INTO etl_rejects (source, batch, file, line, column_name, value, reason, rejected_at)
SELECT
  {{ source }},
  {batch},
  {path},
  r._tally_line,
  {{ column }},
  {{ value }},
  {{ reason }},
  {now}
FROM {{ raw }} AS r
WHERE {{ bad }}
