-- once-file: two tables and a seed row; no IF NOT EXISTS on purpose, so a second application would fail
CREATE TABLE widgets (id integer PRIMARY KEY, label text NOT NULL);
CREATE TABLE applied_marks (mark text);
INSERT INTO applied_marks VALUES ('tables; applied');  -- semicolon inside a string
INSERT INTO widgets VALUES (1, 'one'), (2, $q$two; still "one" string$q$);
