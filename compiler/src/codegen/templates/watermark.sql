INSERT INTO etl_watermark (source, column_name, value, updated_at)
SELECT
  {{ source }},
  {{ column }},
  CAST(max({{ value }}) AS {{ text }}),
  {now}
FROM {{ staging }} AS s
HAVING max({{ value }}) IS NOT NULL
ON CONFLICT (source) DO UPDATE SET
  column_name = excluded.column_name,
  value = excluded.value,
  updated_at = excluded.updated_at
WHERE CAST(etl_watermark.value AS {{ type }}) < CAST(excluded.value AS {{ type }})
