CREATE TABLE `segment_counts` (
	`site_id` text NOT NULL,
	`segment_key` text NOT NULL,
	`shard` integer NOT NULL,
	`n` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`site_id`, `segment_key`, `shard`)
);
