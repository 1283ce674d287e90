CREATE TABLE `erasure_tombstones` (
	`site_id` text NOT NULL,
	`subject_hash` text NOT NULL,
	`from_at` integer NOT NULL,
	`to_at` integer NOT NULL,
	`erased_at` integer NOT NULL,
	PRIMARY KEY(`site_id`, `subject_hash`, `from_at`)
);
