INSERT INTO {{ table }} ({{ columns }})
SELECT
  {{ select }}
FROM (
  {{ cells }}
) AS c
{% if top %}
WHERE c._tally_rank <= {{ top }}
{% endif %}
