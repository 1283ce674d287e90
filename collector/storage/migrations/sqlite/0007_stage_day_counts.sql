-- Day counts behind the funnel report (SQLite only: on PostgreSQL the report keeps counting index ranges, as a hot
-- counter row would serialize several collectors' flushes). Triggers keep them exact through every write path
-- (attribution, rebuilds, merges, erasure, retention), in the writing transaction; a UTC day is at / 86400000.
-- Non-bot leads by the day they were created and their current stage: "count now" and the cohort.
CREATE TABLE `lead_stage_days` (
	`site_id` text NOT NULL,
	`day` integer NOT NULL,
	`stage` text NOT NULL,
	`n` integer NOT NULL,
	PRIMARY KEY(`site_id`, `day`, `stage`)
) WITHOUT ROWID;--> statement-breakpoint
-- Stage entries (stage_changes rows, bots included) by the day and the stage entered: "entered" in a period.
CREATE TABLE `stage_entry_days` (
	`site_id` text NOT NULL,
	`day` integer NOT NULL,
	`stage` text NOT NULL,
	`n` integer NOT NULL,
	PRIMARY KEY(`site_id`, `day`, `stage`)
) WITHOUT ROWID;--> statement-breakpoint
CREATE TRIGGER `leads_day_count_insert` AFTER INSERT ON `leads` WHEN NEW.`is_bot` = 0 BEGIN
	INSERT INTO `lead_stage_days` (`site_id`, `day`, `stage`, `n`) VALUES (NEW.`site_id`, NEW.`created_at` / 86400000, NEW.`stage`, 1)
	ON CONFLICT DO UPDATE SET `n` = `n` + 1;
END;--> statement-breakpoint
CREATE TRIGGER `leads_day_count_delete` AFTER DELETE ON `leads` WHEN OLD.`is_bot` = 0 BEGIN
	UPDATE `lead_stage_days` SET `n` = `n` - 1 WHERE `site_id` = OLD.`site_id` AND `day` = OLD.`created_at` / 86400000 AND `stage` = OLD.`stage`;
END;--> statement-breakpoint
CREATE TRIGGER `leads_day_count_update` AFTER UPDATE OF `site_id`, `stage`, `created_at`, `is_bot` ON `leads`
WHEN OLD.`site_id` IS NOT NEW.`site_id` OR OLD.`stage` IS NOT NEW.`stage` OR OLD.`created_at` IS NOT NEW.`created_at` OR OLD.`is_bot` IS NOT NEW.`is_bot` BEGIN
	UPDATE `lead_stage_days` SET `n` = `n` - 1
	WHERE OLD.`is_bot` = 0 AND `site_id` = OLD.`site_id` AND `day` = OLD.`created_at` / 86400000 AND `stage` = OLD.`stage`;
	INSERT INTO `lead_stage_days` (`site_id`, `day`, `stage`, `n`) SELECT NEW.`site_id`, NEW.`created_at` / 86400000, NEW.`stage`, 1 WHERE NEW.`is_bot` = 0
	ON CONFLICT DO UPDATE SET `n` = `n` + 1;
END;--> statement-breakpoint
CREATE TRIGGER `stage_changes_day_count_insert` AFTER INSERT ON `stage_changes` BEGIN
	INSERT INTO `stage_entry_days` (`site_id`, `day`, `stage`, `n`) VALUES (NEW.`site_id`, NEW.`at` / 86400000, NEW.`to_stage`, 1)
	ON CONFLICT DO UPDATE SET `n` = `n` + 1;
END;--> statement-breakpoint
CREATE TRIGGER `stage_changes_day_count_delete` AFTER DELETE ON `stage_changes` BEGIN
	UPDATE `stage_entry_days` SET `n` = `n` - 1 WHERE `site_id` = OLD.`site_id` AND `day` = OLD.`at` / 86400000 AND `stage` = OLD.`to_stage`;
END;--> statement-breakpoint
CREATE TRIGGER `stage_changes_day_count_update` AFTER UPDATE OF `site_id`, `to_stage`, `at` ON `stage_changes`
WHEN OLD.`site_id` IS NOT NEW.`site_id` OR OLD.`to_stage` IS NOT NEW.`to_stage` OR OLD.`at` IS NOT NEW.`at` BEGIN
	UPDATE `stage_entry_days` SET `n` = `n` - 1 WHERE `site_id` = OLD.`site_id` AND `day` = OLD.`at` / 86400000 AND `stage` = OLD.`to_stage`;
	INSERT INTO `stage_entry_days` (`site_id`, `day`, `stage`, `n`) VALUES (NEW.`site_id`, NEW.`at` / 86400000, NEW.`to_stage`, 1)
	ON CONFLICT DO UPDATE SET `n` = `n` + 1;
END;--> statement-breakpoint
-- Back-fill from the rows already stored.
INSERT INTO `lead_stage_days` (`site_id`, `day`, `stage`, `n`)
SELECT `site_id`, `created_at` / 86400000, `stage`, COUNT(*) FROM `leads` WHERE `is_bot` = 0 GROUP BY 1, 2, 3;--> statement-breakpoint
INSERT INTO `stage_entry_days` (`site_id`, `day`, `stage`, `n`)
SELECT `site_id`, `at` / 86400000, `to_stage`, COUNT(*) FROM `stage_changes` GROUP BY 1, 2, 3;
