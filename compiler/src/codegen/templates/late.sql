INSERT INTO etl_late (source, batch, file, line, column_name, value, watermark, reason, skipped_at)
SELECT
  {{ source }},
  {batch},
  {path},
  r._tally_line,
  {{ column }},
  r.{{ by }},
  w.value,
  {{ reason }},
  {now}
FROM {{ raw }} AS r
JOIN etl_watermark AS w
  ON w.source = {{ source }}
WHERE {{ typed }} < {{ cutoff }}
  AND NOT EXISTS (
    SELECT 1
    FROM etl_rejects AS e
    WHERE e.source = {{ source }}
      AND e.batch = {batch}
      AND e.line = r._tally_line
  )
