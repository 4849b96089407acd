CREATE TEMPORARY TABLE {{ raw }} (
  {{ columns }}
)
