COPY (
  SELECT
    {{ select }}
  FROM read_parquet({file})
) TO {csv_file} (FORMAT csv, HEADER true)
