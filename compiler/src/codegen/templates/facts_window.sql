SELECT *
FROM (
  {{ facts }}
) AS f
WHERE f._tally_period < {{ as_of }}
  AND f._tally_t < {{ end }}
  AND f._tally_t >= {{ start }}
