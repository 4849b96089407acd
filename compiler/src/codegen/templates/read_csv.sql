INSERT INTO {{ raw }} (_tally_line, {{ columns }})
SELECT
  {{ line }},
  {{ select }}
FROM read_csv(
  {file},
  {{ options }}
)
