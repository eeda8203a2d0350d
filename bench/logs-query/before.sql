-- listLogs for a USER before migration 0006: the visibility rule as joins, every entry checked.
explain (analyze, timing off, summary on)
select logs.* from logs
  left join projects as project on project.id = logs.project_id
  left join predictions as prediction on prediction.id = logs.prediction_id
  left join models as prediction_model on prediction_model.id = prediction.model_id
  left join projects as prediction_project on prediction_project.id = prediction_model.project_id
where (logs.project_id is null or project.user_id = '00000000-0000-0000-0000-00000000000a')
  and (logs.prediction_id is null or prediction_project.user_id = '00000000-0000-0000-0000-00000000000a')
  and (logs.project_id is not null or logs.prediction_id is not null
       or logs.user_id = '00000000-0000-0000-0000-00000000000a')
order by logs.logged_at desc, logs.id desc
limit 21;
