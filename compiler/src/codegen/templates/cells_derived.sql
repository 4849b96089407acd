SELECT
  {{ keys }},
  {{ formula }} AS value,
  {{ cell_rows }} AS cell_rows
FROM (
  {{ inputs }}
) AS i
GROUP BY {{ group_by }}
