UPDATE {{ table }}
SET previous_value = CAST(p.value AS {{ value_type }}), previous_rows = p.cell_rows
FROM (
  {{ cells }}
) AS p
WHERE {{ table }}.metric = {{ metric }}
  AND p.grain = {{ table }}.grain
  AND p.period_start = {{ previous }}
  AND {{ same }}
