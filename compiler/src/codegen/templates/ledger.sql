INSERT INTO etl_file_ledger (source, path, sha256, size, rows_read, rows_loaded, rows_rejected, rows_late, batch, loaded_at)
SELECT
  {{ source }},
  {path},
  {sha256},
  {size},
  (SELECT count(*) FROM {{ raw }}),
  (SELECT count(*) FROM {{ staging }}),
  (
    SELECT count(DISTINCT line)
    FROM etl_rejects
    WHERE source = {{ source }}
      AND batch = {batch}
  ),
  {{ late }},
  {batch},
  {now}
