-- once-file whose third statement is broken: the first two must be rolled back
CREATE TABLE broken_first (id int);
INSERT INTO applied_marks VALUES ('broken');

SELECT 1 FROM
  widgets WHERE;
CREATE TABLE broken_after (id int);
