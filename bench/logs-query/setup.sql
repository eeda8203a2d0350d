-- Alice (the viewer) has 50 entries, older than all of bob's :entries (the worst case for a scan
-- newest first); both have a project, as the platform's entries mostly do.
insert into users (id, email, password_hash, role) values
  ('00000000-0000-0000-0000-00000000000a', 'alice@example.com', 'x', 'USER'),
  ('00000000-0000-0000-0000-00000000000b', 'bob@example.com', 'x', 'USER');
insert into projects (id, user_id, name) values
  ('00000000-0000-0000-0000-0000000000a1', '00000000-0000-0000-0000-00000000000a', 'alice'),
  ('00000000-0000-0000-0000-0000000000b1', '00000000-0000-0000-0000-00000000000b', 'bob');
insert into logs (id, level, message, service, project_id, owner_id, logged_at)
  select gen_random_uuid(), 'INFO', 'bob entry', 'models', '00000000-0000-0000-0000-0000000000b1',
    '00000000-0000-0000-0000-00000000000b', now() - (i || ' ms')::interval
  from generate_series(1, :entries) as i;
insert into logs (id, level, message, service, project_id, owner_id, logged_at)
  select gen_random_uuid(), 'INFO', 'alice entry', 'models', '00000000-0000-0000-0000-0000000000a1',
    '00000000-0000-0000-0000-00000000000a', now() - interval '1 day' - (i || ' ms')::interval
  from generate_series(1, 50) as i;
analyze;
