-- listLogs for a USER since migration 0006: the stored reader, through its index.
explain (analyze, timing off, summary on)
select logs.* from logs
where logs.owner_id = '00000000-0000-0000-0000-00000000000a'
order by logs.logged_at desc, logs.id desc
limit 21;
