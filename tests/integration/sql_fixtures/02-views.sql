/* repeatable file: views and a function
   /* nested comment ; */ still comment */
CREATE OR REPLACE VIEW v_widgets AS SELECT id, label FROM widgets;
CREATE OR REPLACE FUNCTION widget_count() RETURNS bigint LANGUAGE plpgsql AS $fn$
BEGIN
  RETURN (SELECT count(*) FROM widgets);  -- ; inside a body
END;
$fn$;
INSERT INTO applied_marks VALUES ('views');
