DROP INDEX `events_site_at`;--> statement-breakpoint
DROP INDEX `events_unattributed`;--> statement-breakpoint
CREATE INDEX `events_unattributed` ON `events` (`site_id`,`attributed`,`received_at`) WHERE attributed = 0;--> statement-breakpoint
DROP INDEX `leads_stage`;--> statement-breakpoint
DROP INDEX `leads_score`;--> statement-breakpoint
DROP INDEX `leads_email`;--> statement-breakpoint
CREATE UNIQUE INDEX `leads_email` ON `leads` (`site_id`,`email`) WHERE email IS NOT NULL;--> statement-breakpoint
DROP INDEX `stage_changes_at`;