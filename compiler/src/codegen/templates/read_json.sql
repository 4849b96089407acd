INSERT INTO {{ raw }} (_tally_line, {{ columns }})
SELECT
  row_number() OVER (),
  {{ select }}
FROM read_json(
  {file},
  format = 'newline_delimited',
  columns = {{ struct }}
)
