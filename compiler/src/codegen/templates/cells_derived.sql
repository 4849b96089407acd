SELECT
  {{ keys }},
  {{ formula }} AS value,
  MIN(i.cell_rows) AS cell_rows
FROM (
  {{ inputs }}
) AS i
GROUP BY {{ group_by }}
