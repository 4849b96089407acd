SELECT
  {{ select }}
FROM {{ table }} AS f
{% for join in joins %}
{{ join }}
{% endfor %}
{% if grains %}
CROSS JOIN (VALUES {{ grains }}) AS g ({{ grain_columns }})
{% endif %}
{% if filter %}
WHERE {{ filter }}
{% endif %}
