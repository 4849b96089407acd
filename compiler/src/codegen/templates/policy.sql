CREATE POLICY {{ name }} ON {{ table }}
FOR {{ command }}
TO {{ role }}
USING ({{ using }})
{% if check %}
WITH CHECK ({{ check }})
{% endif %}
