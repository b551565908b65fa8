-- Chest DICOM files and reports: :studies random non-deleted chest studies, every image
-- instance of them, one row per (instance x report field).
--
-- The original drew its sample with ORDER BY RANDOM(), which cannot be repeated. Here the
-- order is a hash of the seed and the study id: the same :seed always selects the same
-- studies, and every page of the keyset pagination sees the same sample.
--
-- Parameters: :studies (how many), :seed (any text).
-- Contract columns: study_id, series_id, series_number, instance_id, instance_number,
-- file_path, file_url, report_value, field_created_at.
WITH sampled_studies AS (
  SELECT s.id
  FROM pacs_studies AS s
  WHERE s.deleted = FALSE
    AND (s.body_part IS NULL OR upper(s.body_part) = 'CHEST')
  ORDER BY md5(:seed || ':' || s.id::text), s.id
  LIMIT :studies
)
SELECT
  st.id AS study_id,
  se.id AS series_id,
  se.series_number,
  i.id AS instance_id,
  i.instance_number,
  i.file_path,
  i.file_url,
  rf.value AS report_value,
  rf.created_at AS field_created_at
FROM sampled_studies AS st
JOIN pacs_series AS se ON se.study_id = st.id
JOIN pacs_instances AS i ON i.series_id = se.id
LEFT JOIN pacs_report_fields AS rf ON rf.study_id = st.id
