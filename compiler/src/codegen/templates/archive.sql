INSERT INTO {{ archive }} ({{ columns }})
SELECT
  {{ select }}
FROM {{ current }} AS c
WHERE {{ condition }}
