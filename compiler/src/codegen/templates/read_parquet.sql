INSERT INTO {{ raw }} (_tally_line, {{ columns }})
SELECT
  file_row_number + 1,
  {{ select }}
FROM read_parquet({file}, file_row_number = true)
