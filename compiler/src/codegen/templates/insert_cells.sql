INSERT INTO {{ table }} ({{ columns }})
SELECT
  {{ select }}
FROM (
  {{ cells }}
) AS c
{% for condition in conditions %}
{% if loop.first %}WHERE{% else %}  AND{% endif %} {{ condition }}
{% endfor %}
