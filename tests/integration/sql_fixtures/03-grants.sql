-- repeatable: reads a custom setting like grafana-reader.sql does
DO $$
BEGIN
  EXECUTE format('COMMENT ON VIEW v_widgets IS %L', 'reader=' || current_setting('kpi.reader_role'));
END
$$;
