ALTER TABLE `stage_changes` ADD `from_at` integer;--> statement-breakpoint
CREATE INDEX `stage_changes_dwell` ON `stage_changes` (`site_id`,`from_stage`,`from_at`,`at`);--> statement-breakpoint
CREATE INDEX `leads_funnel` ON `leads` (`site_id`,`is_bot`,`created_at`,`stage`);--> statement-breakpoint
CREATE INDEX `leads_activity` ON `leads` (`site_id`,`updated_at`);