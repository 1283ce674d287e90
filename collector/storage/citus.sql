-- Citus (sharded PostgreSQL): run once on the coordinator, after the collector has applied its migrations
-- (start one collector with DATABASE_URL pointing at the coordinator, stop it, then: psql "$DATABASE_URL" -f collector/storage/citus.sql).
-- Every distributed table is sharded by site_id and co-located with the others, so a site's visitors, events, leads,
-- segments and webhooks live on one worker and every query (all filter on site_id, none joins across sites) stays on it.
-- sites and api_keys are small and looked up by site_key / key_id before the site is known: reference tables, copied to every worker.
-- test/storage/citus.test.ts checks that this file covers every table and that every key starts with site_id.
CREATE EXTENSION IF NOT EXISTS citus;

SELECT create_reference_table('sites');
SELECT create_reference_table('api_keys');

SELECT create_distributed_table('visitors', 'site_id');
SELECT create_distributed_table('events', 'site_id', colocate_with => 'visitors');
SELECT create_distributed_table('leads', 'site_id', colocate_with => 'visitors');
SELECT create_distributed_table('identity_links', 'site_id', colocate_with => 'visitors');
SELECT create_distributed_table('lead_aliases', 'site_id', colocate_with => 'visitors');
SELECT create_distributed_table('stage_changes', 'site_id', colocate_with => 'visitors');
SELECT create_distributed_table('score_changes', 'site_id', colocate_with => 'visitors');
SELECT create_distributed_table('segments', 'site_id', colocate_with => 'visitors');
SELECT create_distributed_table('segment_members', 'site_id', colocate_with => 'visitors');
SELECT create_distributed_table('segment_counts', 'site_id', colocate_with => 'visitors');
SELECT create_distributed_table('segment_changes', 'site_id', colocate_with => 'visitors');
SELECT create_distributed_table('segment_rechecks', 'site_id', colocate_with => 'visitors');
SELECT create_distributed_table('site_config', 'site_id', colocate_with => 'visitors');
SELECT create_distributed_table('webhooks', 'site_id', colocate_with => 'visitors');
SELECT create_distributed_table('webhook_deliveries', 'site_id', colocate_with => 'visitors');
SELECT create_distributed_table('rejected_events', 'site_id', colocate_with => 'visitors');
SELECT create_distributed_table('erasure_tombstones', 'site_id', colocate_with => 'visitors');
SELECT create_distributed_table('data_steps', 'site_id', colocate_with => 'visitors');
