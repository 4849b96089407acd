INSERT INTO {{ staging }} ({{ columns }})
SELECT
  {{ select }},
  {batch},
  {path},
  r._tally_line
FROM {{ raw }} AS r
WHERE NOT EXISTS (
  SELECT 1
  FROM etl_rejects AS e
  WHERE e.source = {{ source }}
    AND e.batch = {batch}
    AND e.line = r._tally_line
)
{% for skipped in skipped %}
  AND NOT EXISTS (
    SELECT 1
    FROM {{ skipped }} AS l
    WHERE l.source = {{ source }}
      AND l.batch = {batch}
      AND l.line = r._tally_line
  )
{% endfor %}
