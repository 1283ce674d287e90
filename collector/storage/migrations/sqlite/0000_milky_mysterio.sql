CREATE TABLE `api_keys` (
	`site_id` text NOT NULL,
	`key_id` text NOT NULL,
	`secret_hash` text NOT NULL,
	`scopes` text NOT NULL,
	`created_at` integer NOT NULL,
	`revoked_at` integer,
	PRIMARY KEY(`site_id`, `key_id`)
);
--> statement-breakpoint
CREATE INDEX `api_keys_key_id` ON `api_keys` (`key_id`);--> statement-breakpoint
CREATE TABLE `events` (
	`site_id` text NOT NULL,
	`event_id` text NOT NULL,
	`visitor_id` text NOT NULL,
	`lead_id` text,
	`session_id` text NOT NULL,
	`name` text NOT NULL,
	`at` integer NOT NULL,
	`received_at` integer NOT NULL,
	`source` text NOT NULL,
	`url` text DEFAULT '' NOT NULL,
	`path` text DEFAULT '' NOT NULL,
	`referrer` text DEFAULT '' NOT NULL,
	`props` text,
	`form` text,
	`email` text,
	`traits` text,
	`channel` text NOT NULL,
	`utm_source` text,
	`utm_medium` text,
	`utm_campaign` text,
	`utm_term` text,
	`utm_content` text,
	`click_id` text,
	`first_touch` text,
	`browser` text,
	`os` text,
	`device` text,
	`is_bot` integer DEFAULT 0 NOT NULL,
	`attributed` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`site_id`, `event_id`)
);
--> statement-breakpoint
CREATE INDEX `events_visitor_at` ON `events` (`site_id`,`visitor_id`,`at`);--> statement-breakpoint
CREATE INDEX `events_site_at` ON `events` (`site_id`,`at`);--> statement-breakpoint
CREATE INDEX `events_lead_at` ON `events` (`site_id`,`lead_id`,`at`);--> statement-breakpoint
CREATE INDEX `events_unattributed` ON `events` (`site_id`,`attributed`,`received_at`);--> statement-breakpoint
CREATE TABLE `identity_links` (
	`site_id` text NOT NULL,
	`visitor_id` text NOT NULL,
	`from_at` integer NOT NULL,
	`to_at` integer,
	`lead_id` text NOT NULL,
	`email` text,
	`event_id` text,
	`reason` text NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`site_id`, `visitor_id`, `from_at`)
);
--> statement-breakpoint
CREATE INDEX `identity_links_lead` ON `identity_links` (`site_id`,`lead_id`);--> statement-breakpoint
CREATE TABLE `leads` (
	`site_id` text NOT NULL,
	`lead_id` text NOT NULL,
	`email` text,
	`traits` text DEFAULT '{}' NOT NULL,
	`stage` text NOT NULL,
	`stage_rank` integer DEFAULT 0 NOT NULL,
	`stage_at` integer NOT NULL,
	`score` real DEFAULT 0 NOT NULL,
	`score_at` integer NOT NULL,
	`mql` integer DEFAULT 0 NOT NULL,
	`mql_at` integer,
	`sql` integer DEFAULT 0 NOT NULL,
	`sql_at` integer,
	`first_touch` text,
	`last_touch` text,
	`state` text DEFAULT '{}' NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`identified_at` integer,
	`version` integer DEFAULT 0 NOT NULL,
	`opted_out` integer DEFAULT 0 NOT NULL,
	`is_bot` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`site_id`, `lead_id`)
);
--> statement-breakpoint
CREATE UNIQUE INDEX `leads_email` ON `leads` (`site_id`,`email`);--> statement-breakpoint
CREATE INDEX `leads_stage` ON `leads` (`site_id`,`stage_rank`);--> statement-breakpoint
CREATE INDEX `leads_score` ON `leads` (`site_id`,`score`);--> statement-breakpoint
CREATE TABLE `rejected_events` (
	`site_id` text DEFAULT '' NOT NULL,
	`rejected_id` text NOT NULL,
	`reason` text NOT NULL,
	`message` text NOT NULL,
	`route` text NOT NULL,
	`raw` text NOT NULL,
	`received_at` integer NOT NULL,
	PRIMARY KEY(`site_id`, `rejected_id`)
);
--> statement-breakpoint
CREATE INDEX `rejected_events_at` ON `rejected_events` (`site_id`,`received_at`);--> statement-breakpoint
CREATE TABLE `score_changes` (
	`site_id` text NOT NULL,
	`change_id` text NOT NULL,
	`lead_id` text NOT NULL,
	`at` integer NOT NULL,
	`event_id` text,
	`rule` text NOT NULL,
	`points` real NOT NULL,
	`score_after` real NOT NULL,
	PRIMARY KEY(`site_id`, `change_id`)
);
--> statement-breakpoint
CREATE INDEX `score_changes_lead` ON `score_changes` (`site_id`,`lead_id`,`at`);--> statement-breakpoint
CREATE TABLE `segment_changes` (
	`site_id` text NOT NULL,
	`change_id` text NOT NULL,
	`segment_key` text NOT NULL,
	`lead_id` text NOT NULL,
	`kind` text NOT NULL,
	`at` integer NOT NULL,
	PRIMARY KEY(`site_id`, `change_id`)
);
--> statement-breakpoint
CREATE INDEX `segment_changes_lead` ON `segment_changes` (`site_id`,`lead_id`,`at`);--> statement-breakpoint
CREATE TABLE `segment_members` (
	`site_id` text NOT NULL,
	`segment_key` text NOT NULL,
	`lead_id` text NOT NULL,
	`entered_at` integer NOT NULL,
	`recheck_at` integer,
	PRIMARY KEY(`site_id`, `segment_key`, `lead_id`)
);
--> statement-breakpoint
CREATE INDEX `segment_members_lead` ON `segment_members` (`site_id`,`lead_id`);--> statement-breakpoint
CREATE TABLE `segment_rechecks` (
	`site_id` text NOT NULL,
	`lead_id` text NOT NULL,
	`due_at` integer NOT NULL,
	PRIMARY KEY(`site_id`, `lead_id`)
);
--> statement-breakpoint
CREATE INDEX `segment_rechecks_due` ON `segment_rechecks` (`due_at`);--> statement-breakpoint
CREATE TABLE `segments` (
	`site_id` text NOT NULL,
	`segment_key` text NOT NULL,
	`name` text NOT NULL,
	`definition` text NOT NULL,
	`member_count` integer DEFAULT 0 NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`site_id`, `segment_key`)
);
--> statement-breakpoint
CREATE TABLE `site_config` (
	`site_id` text NOT NULL,
	`kind` text NOT NULL,
	`body` text NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`site_id`, `kind`)
);
--> statement-breakpoint
CREATE TABLE `sites` (
	`site_id` text PRIMARY KEY NOT NULL,
	`site_key` text NOT NULL,
	`domain` text NOT NULL,
	`name` text NOT NULL,
	`settings` text DEFAULT '{}' NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `sites_site_key` ON `sites` (`site_key`);--> statement-breakpoint
CREATE TABLE `stage_changes` (
	`site_id` text NOT NULL,
	`lead_id` text NOT NULL,
	`to_stage` text NOT NULL,
	`from_stage` text,
	`at` integer NOT NULL,
	`event_id` text,
	`rule` text,
	PRIMARY KEY(`site_id`, `lead_id`, `to_stage`)
);
--> statement-breakpoint
CREATE INDEX `stage_changes_at` ON `stage_changes` (`site_id`,`to_stage`,`at`);--> statement-breakpoint
CREATE TABLE `visitors` (
	`site_id` text NOT NULL,
	`visitor_id` text NOT NULL,
	`lead_id` text,
	`first_seen` integer NOT NULL,
	`last_seen` integer NOT NULL,
	`session_id` text NOT NULL,
	`session_started` integer NOT NULL,
	`session_campaign` text DEFAULT '' NOT NULL,
	`session_count` integer DEFAULT 1 NOT NULL,
	`event_count` integer DEFAULT 0 NOT NULL,
	`first_touch` text,
	`last_touch` text,
	`browser` text,
	`os` text,
	`device` text,
	`is_bot` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`site_id`, `visitor_id`)
);
--> statement-breakpoint
CREATE INDEX `visitors_lead` ON `visitors` (`site_id`,`lead_id`);--> statement-breakpoint
CREATE INDEX `visitors_last_seen` ON `visitors` (`site_id`,`last_seen`);--> statement-breakpoint
CREATE TABLE `webhook_deliveries` (
	`site_id` text NOT NULL,
	`delivery_id` text NOT NULL,
	`webhook_id` text NOT NULL,
	`event_type` text NOT NULL,
	`payload` text NOT NULL,
	`status` text NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`next_attempt_at` integer NOT NULL,
	`last_status` integer,
	`last_error` text,
	`created_at` integer NOT NULL,
	`delivered_at` integer,
	PRIMARY KEY(`site_id`, `delivery_id`)
);
--> statement-breakpoint
CREATE INDEX `webhook_deliveries_due` ON `webhook_deliveries` (`status`,`next_attempt_at`);--> statement-breakpoint
CREATE INDEX `webhook_deliveries_hook` ON `webhook_deliveries` (`site_id`,`webhook_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `webhooks` (
	`site_id` text NOT NULL,
	`webhook_id` text NOT NULL,
	`url` text NOT NULL,
	`secret` text NOT NULL,
	`events` text NOT NULL,
	`active` integer DEFAULT 1 NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`site_id`, `webhook_id`)
);
