DROP INDEX `leads_funnel`;--> statement-breakpoint
CREATE INDEX `leads_funnel` ON `leads` (`site_id`,`is_bot`,`stage`,`created_at`);