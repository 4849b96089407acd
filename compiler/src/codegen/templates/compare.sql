UPDATE {{ table }}
SET previous_value = p.value
FROM {{ table }} AS p
WHERE {{ table }}.metric = {{ metric }}
  AND p.metric = {{ metric }}
  AND p.grain = {{ table }}.grain
  AND p.period_start = {{ previous }}
  AND {{ same }}
