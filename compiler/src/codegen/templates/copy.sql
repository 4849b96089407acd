COPY {{ raw }} ({{ columns }}) FROM STDIN WITH ({{ options }})
