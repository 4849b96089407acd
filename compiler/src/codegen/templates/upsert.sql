INSERT INTO {{ current }} ({{ columns }})
SELECT
  {{ select }}
FROM (
  SELECT
    s.*,
    row_number() OVER (PARTITION BY {{ key }} ORDER BY s._tally_line {{ order }}) AS _tally_rank
  FROM {{ staging }} AS s
) AS s
WHERE s._tally_rank = 1
{% for condition in conditions %}
  AND {{ condition }}
{% endfor %}
ON CONFLICT ({{ key }}) DO {{ action }}
