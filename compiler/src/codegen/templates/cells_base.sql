SELECT
  {{ select }}
FROM (
  {{ facts }}
) AS f
{% if sets %}
GROUP BY GROUPING SETS (
{% for set in sets %}
  {{ set }}{% if not loop.last %},{% endif %}

{% endfor %}
)
{% endif %}
{% if having %}
HAVING {{ having }}
{% endif %}
