SELECT
  f.*,
  {{ flags }}
FROM (
  {{ facts }}
) AS f
