CREATE TABLE `data_steps` (
	`site_id` text DEFAULT '' NOT NULL,
	`name` text NOT NULL,
	`done_at` integer NOT NULL,
	PRIMARY KEY(`site_id`, `name`)
);
