-- once-file that takes a while, so two concurrent runs overlap
SELECT pg_sleep(1.5);
CREATE TABLE slow_once (id int);
INSERT INTO applied_marks VALUES ('slow');
