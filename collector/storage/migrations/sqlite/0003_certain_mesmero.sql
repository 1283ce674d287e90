DROP INDEX `stage_changes_dwell`;--> statement-breakpoint
CREATE INDEX `stage_changes_entered` ON `stage_changes` (`site_id`,`to_stage`,`at`,`lead_id`);--> statement-breakpoint
CREATE INDEX `stage_changes_dwell` ON `stage_changes` (`site_id`,`from_stage`,`from_at`,`at`,`lead_id`);