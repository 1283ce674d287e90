-- Touch day counts behind the funnel report's first- and last-touch breakdowns (SQLite only, as 0007's day counts:
-- on PostgreSQL the breakdowns keep reading index ranges). Each lead counts under its first touch's and its last
-- touch's channel, source, medium and campaign (the leads.ft_… / lt_… columns) as they are now; triggers keep all three
-- tables exact in the writing transaction through every write path, and move a lead's stage changes to its new key
-- when its last (or first) touch changes. Bot leads are in none of them. A UTC day is at / 86400000.
-- Non-bot leads by touch, the day they were created and their current stage: "count now" and the cohort per key.
CREATE TABLE `lead_touch_days` (
	`site_id` text NOT NULL,
	`touch` text NOT NULL,
	`day` integer NOT NULL,
	`stage` text NOT NULL,
	`channel` text NOT NULL,
	`source` text NOT NULL,
	`medium` text NOT NULL,
	`campaign` text NOT NULL,
	`n` integer NOT NULL,
	PRIMARY KEY(`site_id`, `touch`, `day`, `stage`, `channel`, `source`, `medium`, `campaign`)
) WITHOUT ROWID;--> statement-breakpoint
-- Stage entries of non-bot leads by the lead's touch, the day and the stage entered: "entered" per key.
CREATE TABLE `stage_entry_touch_days` (
	`site_id` text NOT NULL,
	`touch` text NOT NULL,
	`day` integer NOT NULL,
	`stage` text NOT NULL,
	`channel` text NOT NULL,
	`source` text NOT NULL,
	`medium` text NOT NULL,
	`campaign` text NOT NULL,
	`n` integer NOT NULL,
	PRIMARY KEY(`site_id`, `touch`, `day`, `stage`, `channel`, `source`, `medium`, `campaign`)
) WITHOUT ROWID;--> statement-breakpoint
-- Times in stage of non-bot leads with the lead's touch: one row per touch and stage change that left a stage
-- (from_stage, from_at set), d = at - from_at. p50/p90 per key need every value, so these are rows, not counts.
CREATE TABLE `stage_dwell_touches` (
	`site_id` text NOT NULL,
	`touch` text NOT NULL,
	`stage` text NOT NULL,
	`from_at` integer NOT NULL,
	`lead_id` text NOT NULL,
	`to_stage` text NOT NULL,
	`channel` text NOT NULL,
	`source` text NOT NULL,
	`medium` text NOT NULL,
	`campaign` text NOT NULL,
	`d` integer NOT NULL,
	PRIMARY KEY(`site_id`, `touch`, `stage`, `from_at`, `lead_id`, `to_stage`)
) WITHOUT ROWID;--> statement-breakpoint
CREATE TRIGGER `leads_touch_days_insert` AFTER INSERT ON `leads` WHEN NEW.`is_bot` = 0 BEGIN
	INSERT INTO `lead_touch_days` (`site_id`, `touch`, `day`, `stage`, `channel`, `source`, `medium`, `campaign`, `n`)
	SELECT NEW.`site_id`, 'first', NEW.`created_at` / 86400000, NEW.`stage`, NEW.`ft_channel`, NEW.`ft_source`, NEW.`ft_medium`, NEW.`ft_campaign`, 1 WHERE NEW.`is_bot` = 0
	ON CONFLICT DO UPDATE SET `n` = `n` + excluded.`n`;
	INSERT INTO `lead_touch_days` (`site_id`, `touch`, `day`, `stage`, `channel`, `source`, `medium`, `campaign`, `n`)
	SELECT NEW.`site_id`, 'last', NEW.`created_at` / 86400000, NEW.`stage`, NEW.`lt_channel`, NEW.`lt_source`, NEW.`lt_medium`, NEW.`lt_campaign`, 1 WHERE NEW.`is_bot` = 0
	ON CONFLICT DO UPDATE SET `n` = `n` + excluded.`n`;
END;--> statement-breakpoint
-- stage changes stored before their lead (the lead is usually written first, and has none yet)
CREATE TRIGGER `leads_touch_changes_insert` AFTER INSERT ON `leads`
WHEN NEW.`is_bot` = 0 AND EXISTS (SELECT 1 FROM `stage_changes` WHERE `site_id` = NEW.`site_id` AND `lead_id` = NEW.`lead_id`) BEGIN
	INSERT INTO `stage_entry_touch_days` (`site_id`, `touch`, `day`, `stage`, `channel`, `source`, `medium`, `campaign`, `n`)
	SELECT sc.`site_id`, 'first', sc.`at` / 86400000, sc.`to_stage`, NEW.`ft_channel`, NEW.`ft_source`, NEW.`ft_medium`, NEW.`ft_campaign`, COUNT(*) FROM `stage_changes` sc
	WHERE NEW.`is_bot` = 0 AND sc.`site_id` = NEW.`site_id` AND sc.`lead_id` = NEW.`lead_id` GROUP BY sc.`at` / 86400000, sc.`to_stage`
	ON CONFLICT DO UPDATE SET `n` = `n` + excluded.`n`;
	INSERT INTO `stage_entry_touch_days` (`site_id`, `touch`, `day`, `stage`, `channel`, `source`, `medium`, `campaign`, `n`)
	SELECT sc.`site_id`, 'last', sc.`at` / 86400000, sc.`to_stage`, NEW.`lt_channel`, NEW.`lt_source`, NEW.`lt_medium`, NEW.`lt_campaign`, COUNT(*) FROM `stage_changes` sc
	WHERE NEW.`is_bot` = 0 AND sc.`site_id` = NEW.`site_id` AND sc.`lead_id` = NEW.`lead_id` GROUP BY sc.`at` / 86400000, sc.`to_stage`
	ON CONFLICT DO UPDATE SET `n` = `n` + excluded.`n`;
	INSERT INTO `stage_dwell_touches` (`site_id`, `touch`, `stage`, `from_at`, `lead_id`, `to_stage`, `channel`, `source`, `medium`, `campaign`, `d`)
	SELECT sc.`site_id`, 'first', sc.`from_stage`, sc.`from_at`, sc.`lead_id`, sc.`to_stage`, NEW.`ft_channel`, NEW.`ft_source`, NEW.`ft_medium`, NEW.`ft_campaign`, sc.`at` - sc.`from_at`
	FROM `stage_changes` sc WHERE NEW.`is_bot` = 0 AND sc.`site_id` = NEW.`site_id` AND sc.`lead_id` = NEW.`lead_id`
	AND sc.`from_stage` IS NOT NULL AND sc.`from_at` IS NOT NULL
	ON CONFLICT DO UPDATE SET `channel` = excluded.`channel`, `source` = excluded.`source`, `medium` = excluded.`medium`, `campaign` = excluded.`campaign`, `d` = excluded.`d`;
	INSERT INTO `stage_dwell_touches` (`site_id`, `touch`, `stage`, `from_at`, `lead_id`, `to_stage`, `channel`, `source`, `medium`, `campaign`, `d`)
	SELECT sc.`site_id`, 'last', sc.`from_stage`, sc.`from_at`, sc.`lead_id`, sc.`to_stage`, NEW.`lt_channel`, NEW.`lt_source`, NEW.`lt_medium`, NEW.`lt_campaign`, sc.`at` - sc.`from_at`
	FROM `stage_changes` sc WHERE NEW.`is_bot` = 0 AND sc.`site_id` = NEW.`site_id` AND sc.`lead_id` = NEW.`lead_id`
	AND sc.`from_stage` IS NOT NULL AND sc.`from_at` IS NOT NULL
	ON CONFLICT DO UPDATE SET `channel` = excluded.`channel`, `source` = excluded.`source`, `medium` = excluded.`medium`, `campaign` = excluded.`campaign`, `d` = excluded.`d`;
END;--> statement-breakpoint
CREATE TRIGGER `leads_touch_days_delete` AFTER DELETE ON `leads` WHEN OLD.`is_bot` = 0 BEGIN
	INSERT INTO `lead_touch_days` (`site_id`, `touch`, `day`, `stage`, `channel`, `source`, `medium`, `campaign`, `n`)
	SELECT OLD.`site_id`, 'first', OLD.`created_at` / 86400000, OLD.`stage`, OLD.`ft_channel`, OLD.`ft_source`, OLD.`ft_medium`, OLD.`ft_campaign`, -1 WHERE OLD.`is_bot` = 0
	ON CONFLICT DO UPDATE SET `n` = `n` + excluded.`n`;
	INSERT INTO `lead_touch_days` (`site_id`, `touch`, `day`, `stage`, `channel`, `source`, `medium`, `campaign`, `n`)
	SELECT OLD.`site_id`, 'last', OLD.`created_at` / 86400000, OLD.`stage`, OLD.`lt_channel`, OLD.`lt_source`, OLD.`lt_medium`, OLD.`lt_campaign`, -1 WHERE OLD.`is_bot` = 0
	ON CONFLICT DO UPDATE SET `n` = `n` + excluded.`n`;
	DELETE FROM `lead_touch_days` WHERE `site_id` = OLD.`site_id` AND `touch` IN ('first', 'last')
	AND `day` = OLD.`created_at` / 86400000 AND `stage` = OLD.`stage` AND `n` = 0;
	INSERT INTO `stage_entry_touch_days` (`site_id`, `touch`, `day`, `stage`, `channel`, `source`, `medium`, `campaign`, `n`)
	SELECT sc.`site_id`, 'first', sc.`at` / 86400000, sc.`to_stage`, OLD.`ft_channel`, OLD.`ft_source`, OLD.`ft_medium`, OLD.`ft_campaign`, -COUNT(*) FROM `stage_changes` sc
	WHERE OLD.`is_bot` = 0 AND sc.`site_id` = OLD.`site_id` AND sc.`lead_id` = OLD.`lead_id` GROUP BY sc.`at` / 86400000, sc.`to_stage`
	ON CONFLICT DO UPDATE SET `n` = `n` + excluded.`n`;
	INSERT INTO `stage_entry_touch_days` (`site_id`, `touch`, `day`, `stage`, `channel`, `source`, `medium`, `campaign`, `n`)
	SELECT sc.`site_id`, 'last', sc.`at` / 86400000, sc.`to_stage`, OLD.`lt_channel`, OLD.`lt_source`, OLD.`lt_medium`, OLD.`lt_campaign`, -COUNT(*) FROM `stage_changes` sc
	WHERE OLD.`is_bot` = 0 AND sc.`site_id` = OLD.`site_id` AND sc.`lead_id` = OLD.`lead_id` GROUP BY sc.`at` / 86400000, sc.`to_stage`
	ON CONFLICT DO UPDATE SET `n` = `n` + excluded.`n`;
	DELETE FROM `stage_entry_touch_days` WHERE `site_id` = OLD.`site_id` AND `touch` = 'first' AND `n` = 0
	AND (`day`, `stage`) IN (SELECT `at` / 86400000, `to_stage` FROM `stage_changes`
	WHERE `site_id` = OLD.`site_id` AND `lead_id` = OLD.`lead_id` AND `rule` IS `rule`);
	DELETE FROM `stage_entry_touch_days` WHERE `site_id` = OLD.`site_id` AND `touch` = 'last' AND `n` = 0
	AND (`day`, `stage`) IN (SELECT `at` / 86400000, `to_stage` FROM `stage_changes`
	WHERE `site_id` = OLD.`site_id` AND `lead_id` = OLD.`lead_id` AND `rule` IS `rule`);
	DELETE FROM `stage_dwell_touches` WHERE `site_id` = OLD.`site_id` AND `touch` = 'first'
	AND (`stage`, `from_at`, `lead_id`, `to_stage`) IN (
	SELECT `from_stage`, `from_at`, `lead_id`, `to_stage` FROM `stage_changes`
	WHERE `site_id` = OLD.`site_id` AND `lead_id` = OLD.`lead_id` AND `from_stage` IS NOT NULL AND `from_at` IS NOT NULL);
	DELETE FROM `stage_dwell_touches` WHERE `site_id` = OLD.`site_id` AND `touch` = 'last'
	AND (`stage`, `from_at`, `lead_id`, `to_stage`) IN (
	SELECT `from_stage`, `from_at`, `lead_id`, `to_stage` FROM `stage_changes`
	WHERE `site_id` = OLD.`site_id` AND `lead_id` = OLD.`lead_id` AND `from_stage` IS NOT NULL AND `from_at` IS NOT NULL);
END;--> statement-breakpoint
CREATE TRIGGER `leads_touch_days_update` AFTER UPDATE OF `site_id`, `stage`, `created_at`, `is_bot`, `ft_channel`, `ft_source`, `ft_medium`, `ft_campaign`, `lt_channel`, `lt_source`, `lt_medium`, `lt_campaign` ON `leads`
WHEN OLD.`site_id` IS NOT NEW.`site_id` OR OLD.`stage` IS NOT NEW.`stage` OR OLD.`created_at` IS NOT NEW.`created_at` OR OLD.`is_bot` IS NOT NEW.`is_bot` OR OLD.`ft_channel` IS NOT NEW.`ft_channel` OR OLD.`ft_source` IS NOT NEW.`ft_source` OR OLD.`ft_medium` IS NOT NEW.`ft_medium` OR OLD.`ft_campaign` IS NOT NEW.`ft_campaign` OR OLD.`lt_channel` IS NOT NEW.`lt_channel` OR OLD.`lt_source` IS NOT NEW.`lt_source` OR OLD.`lt_medium` IS NOT NEW.`lt_medium` OR OLD.`lt_campaign` IS NOT NEW.`lt_campaign` BEGIN
	INSERT INTO `lead_touch_days` (`site_id`, `touch`, `day`, `stage`, `channel`, `source`, `medium`, `campaign`, `n`)
	SELECT OLD.`site_id`, 'first', OLD.`created_at` / 86400000, OLD.`stage`, OLD.`ft_channel`, OLD.`ft_source`, OLD.`ft_medium`, OLD.`ft_campaign`, -1 WHERE OLD.`is_bot` = 0
	ON CONFLICT DO UPDATE SET `n` = `n` + excluded.`n`;
	INSERT INTO `lead_touch_days` (`site_id`, `touch`, `day`, `stage`, `channel`, `source`, `medium`, `campaign`, `n`)
	SELECT OLD.`site_id`, 'last', OLD.`created_at` / 86400000, OLD.`stage`, OLD.`lt_channel`, OLD.`lt_source`, OLD.`lt_medium`, OLD.`lt_campaign`, -1 WHERE OLD.`is_bot` = 0
	ON CONFLICT DO UPDATE SET `n` = `n` + excluded.`n`;
	DELETE FROM `lead_touch_days` WHERE `site_id` = OLD.`site_id` AND `touch` IN ('first', 'last')
	AND `day` = OLD.`created_at` / 86400000 AND `stage` = OLD.`stage` AND `n` = 0;
	INSERT INTO `lead_touch_days` (`site_id`, `touch`, `day`, `stage`, `channel`, `source`, `medium`, `campaign`, `n`)
	SELECT NEW.`site_id`, 'first', NEW.`created_at` / 86400000, NEW.`stage`, NEW.`ft_channel`, NEW.`ft_source`, NEW.`ft_medium`, NEW.`ft_campaign`, 1 WHERE NEW.`is_bot` = 0
	ON CONFLICT DO UPDATE SET `n` = `n` + excluded.`n`;
	INSERT INTO `lead_touch_days` (`site_id`, `touch`, `day`, `stage`, `channel`, `source`, `medium`, `campaign`, `n`)
	SELECT NEW.`site_id`, 'last', NEW.`created_at` / 86400000, NEW.`stage`, NEW.`lt_channel`, NEW.`lt_source`, NEW.`lt_medium`, NEW.`lt_campaign`, 1 WHERE NEW.`is_bot` = 0
	ON CONFLICT DO UPDATE SET `n` = `n` + excluded.`n`;
END;--> statement-breakpoint
CREATE TRIGGER `leads_first_touch_changes_update` AFTER UPDATE OF `site_id`, `lead_id`, `is_bot`, `ft_channel`, `ft_source`, `ft_medium`, `ft_campaign` ON `leads`
WHEN OLD.`site_id` IS NOT NEW.`site_id` OR OLD.`lead_id` IS NOT NEW.`lead_id` OR OLD.`is_bot` IS NOT NEW.`is_bot` OR OLD.`ft_channel` IS NOT NEW.`ft_channel` OR OLD.`ft_source` IS NOT NEW.`ft_source` OR OLD.`ft_medium` IS NOT NEW.`ft_medium` OR OLD.`ft_campaign` IS NOT NEW.`ft_campaign` BEGIN
	INSERT INTO `stage_entry_touch_days` (`site_id`, `touch`, `day`, `stage`, `channel`, `source`, `medium`, `campaign`, `n`)
	SELECT sc.`site_id`, 'first', sc.`at` / 86400000, sc.`to_stage`, OLD.`ft_channel`, OLD.`ft_source`, OLD.`ft_medium`, OLD.`ft_campaign`, -COUNT(*) FROM `stage_changes` sc
	WHERE OLD.`is_bot` = 0 AND sc.`site_id` = OLD.`site_id` AND sc.`lead_id` = OLD.`lead_id` GROUP BY sc.`at` / 86400000, sc.`to_stage`
	ON CONFLICT DO UPDATE SET `n` = `n` + excluded.`n`;
	DELETE FROM `stage_entry_touch_days` WHERE `site_id` = OLD.`site_id` AND `touch` = 'first' AND `n` = 0
	AND (`day`, `stage`) IN (SELECT `at` / 86400000, `to_stage` FROM `stage_changes`
	WHERE `site_id` = OLD.`site_id` AND `lead_id` = OLD.`lead_id` AND `rule` IS `rule`);
	DELETE FROM `stage_dwell_touches` WHERE `site_id` = OLD.`site_id` AND `touch` = 'first'
	AND (`stage`, `from_at`, `lead_id`, `to_stage`) IN (
	SELECT `from_stage`, `from_at`, `lead_id`, `to_stage` FROM `stage_changes`
	WHERE `site_id` = OLD.`site_id` AND `lead_id` = OLD.`lead_id` AND `from_stage` IS NOT NULL AND `from_at` IS NOT NULL);
	INSERT INTO `stage_entry_touch_days` (`site_id`, `touch`, `day`, `stage`, `channel`, `source`, `medium`, `campaign`, `n`)
	SELECT sc.`site_id`, 'first', sc.`at` / 86400000, sc.`to_stage`, NEW.`ft_channel`, NEW.`ft_source`, NEW.`ft_medium`, NEW.`ft_campaign`, COUNT(*) FROM `stage_changes` sc
	WHERE NEW.`is_bot` = 0 AND sc.`site_id` = NEW.`site_id` AND sc.`lead_id` = NEW.`lead_id` GROUP BY sc.`at` / 86400000, sc.`to_stage`
	ON CONFLICT DO UPDATE SET `n` = `n` + excluded.`n`;
	INSERT INTO `stage_dwell_touches` (`site_id`, `touch`, `stage`, `from_at`, `lead_id`, `to_stage`, `channel`, `source`, `medium`, `campaign`, `d`)
	SELECT sc.`site_id`, 'first', sc.`from_stage`, sc.`from_at`, sc.`lead_id`, sc.`to_stage`, NEW.`ft_channel`, NEW.`ft_source`, NEW.`ft_medium`, NEW.`ft_campaign`, sc.`at` - sc.`from_at`
	FROM `stage_changes` sc WHERE NEW.`is_bot` = 0 AND sc.`site_id` = NEW.`site_id` AND sc.`lead_id` = NEW.`lead_id`
	AND sc.`from_stage` IS NOT NULL AND sc.`from_at` IS NOT NULL
	ON CONFLICT DO UPDATE SET `channel` = excluded.`channel`, `source` = excluded.`source`, `medium` = excluded.`medium`, `campaign` = excluded.`campaign`, `d` = excluded.`d`;
END;--> statement-breakpoint
CREATE TRIGGER `leads_last_touch_changes_update` AFTER UPDATE OF `site_id`, `lead_id`, `is_bot`, `lt_channel`, `lt_source`, `lt_medium`, `lt_campaign` ON `leads`
WHEN OLD.`site_id` IS NOT NEW.`site_id` OR OLD.`lead_id` IS NOT NEW.`lead_id` OR OLD.`is_bot` IS NOT NEW.`is_bot` OR OLD.`lt_channel` IS NOT NEW.`lt_channel` OR OLD.`lt_source` IS NOT NEW.`lt_source` OR OLD.`lt_medium` IS NOT NEW.`lt_medium` OR OLD.`lt_campaign` IS NOT NEW.`lt_campaign` BEGIN
	INSERT INTO `stage_entry_touch_days` (`site_id`, `touch`, `day`, `stage`, `channel`, `source`, `medium`, `campaign`, `n`)
	SELECT sc.`site_id`, 'last', sc.`at` / 86400000, sc.`to_stage`, OLD.`lt_channel`, OLD.`lt_source`, OLD.`lt_medium`, OLD.`lt_campaign`, -COUNT(*) FROM `stage_changes` sc
	WHERE OLD.`is_bot` = 0 AND sc.`site_id` = OLD.`site_id` AND sc.`lead_id` = OLD.`lead_id` GROUP BY sc.`at` / 86400000, sc.`to_stage`
	ON CONFLICT DO UPDATE SET `n` = `n` + excluded.`n`;
	DELETE FROM `stage_entry_touch_days` WHERE `site_id` = OLD.`site_id` AND `touch` = 'last' AND `n` = 0
	AND (`day`, `stage`) IN (SELECT `at` / 86400000, `to_stage` FROM `stage_changes`
	WHERE `site_id` = OLD.`site_id` AND `lead_id` = OLD.`lead_id` AND `rule` IS `rule`);
	DELETE FROM `stage_dwell_touches` WHERE `site_id` = OLD.`site_id` AND `touch` = 'last'
	AND (`stage`, `from_at`, `lead_id`, `to_stage`) IN (
	SELECT `from_stage`, `from_at`, `lead_id`, `to_stage` FROM `stage_changes`
	WHERE `site_id` = OLD.`site_id` AND `lead_id` = OLD.`lead_id` AND `from_stage` IS NOT NULL AND `from_at` IS NOT NULL);
	INSERT INTO `stage_entry_touch_days` (`site_id`, `touch`, `day`, `stage`, `channel`, `source`, `medium`, `campaign`, `n`)
	SELECT sc.`site_id`, 'last', sc.`at` / 86400000, sc.`to_stage`, NEW.`lt_channel`, NEW.`lt_source`, NEW.`lt_medium`, NEW.`lt_campaign`, COUNT(*) FROM `stage_changes` sc
	WHERE NEW.`is_bot` = 0 AND sc.`site_id` = NEW.`site_id` AND sc.`lead_id` = NEW.`lead_id` GROUP BY sc.`at` / 86400000, sc.`to_stage`
	ON CONFLICT DO UPDATE SET `n` = `n` + excluded.`n`;
	INSERT INTO `stage_dwell_touches` (`site_id`, `touch`, `stage`, `from_at`, `lead_id`, `to_stage`, `channel`, `source`, `medium`, `campaign`, `d`)
	SELECT sc.`site_id`, 'last', sc.`from_stage`, sc.`from_at`, sc.`lead_id`, sc.`to_stage`, NEW.`lt_channel`, NEW.`lt_source`, NEW.`lt_medium`, NEW.`lt_campaign`, sc.`at` - sc.`from_at`
	FROM `stage_changes` sc WHERE NEW.`is_bot` = 0 AND sc.`site_id` = NEW.`site_id` AND sc.`lead_id` = NEW.`lead_id`
	AND sc.`from_stage` IS NOT NULL AND sc.`from_at` IS NOT NULL
	ON CONFLICT DO UPDATE SET `channel` = excluded.`channel`, `source` = excluded.`source`, `medium` = excluded.`medium`, `campaign` = excluded.`campaign`, `d` = excluded.`d`;
END;--> statement-breakpoint
CREATE TRIGGER `stage_changes_touch_days_insert` AFTER INSERT ON `stage_changes` BEGIN
	INSERT INTO `stage_entry_touch_days` (`site_id`, `touch`, `day`, `stage`, `channel`, `source`, `medium`, `campaign`, `n`)
	SELECT l.`site_id`, t.`column1`, NEW.`at` / 86400000, NEW.`to_stage`,
	CASE t.`column1` WHEN 'first' THEN l.`ft_channel` ELSE l.`lt_channel` END,
	CASE t.`column1` WHEN 'first' THEN l.`ft_source` ELSE l.`lt_source` END,
	CASE t.`column1` WHEN 'first' THEN l.`ft_medium` ELSE l.`lt_medium` END,
	CASE t.`column1` WHEN 'first' THEN l.`ft_campaign` ELSE l.`lt_campaign` END, 1
	FROM `leads` l, (VALUES ('first'), ('last')) t WHERE l.`site_id` = NEW.`site_id` AND l.`lead_id` = NEW.`lead_id` AND l.`is_bot` = 0
	ON CONFLICT DO UPDATE SET `n` = `n` + excluded.`n`;
	INSERT INTO `stage_dwell_touches` (`site_id`, `touch`, `stage`, `from_at`, `lead_id`, `to_stage`, `channel`, `source`, `medium`, `campaign`, `d`)
	SELECT l.`site_id`, t.`column1`, NEW.`from_stage`, NEW.`from_at`, NEW.`lead_id`, NEW.`to_stage`,
	CASE t.`column1` WHEN 'first' THEN l.`ft_channel` ELSE l.`lt_channel` END,
	CASE t.`column1` WHEN 'first' THEN l.`ft_source` ELSE l.`lt_source` END,
	CASE t.`column1` WHEN 'first' THEN l.`ft_medium` ELSE l.`lt_medium` END,
	CASE t.`column1` WHEN 'first' THEN l.`ft_campaign` ELSE l.`lt_campaign` END, NEW.`at` - NEW.`from_at`
	FROM `leads` l, (VALUES ('first'), ('last')) t WHERE l.`site_id` = NEW.`site_id` AND l.`lead_id` = NEW.`lead_id` AND l.`is_bot` = 0
	AND NEW.`from_stage` IS NOT NULL AND NEW.`from_at` IS NOT NULL
	ON CONFLICT DO UPDATE SET `channel` = excluded.`channel`, `source` = excluded.`source`, `medium` = excluded.`medium`, `campaign` = excluded.`campaign`, `d` = excluded.`d`;
END;--> statement-breakpoint
CREATE TRIGGER `stage_changes_touch_days_delete` AFTER DELETE ON `stage_changes` BEGIN
	INSERT INTO `stage_entry_touch_days` (`site_id`, `touch`, `day`, `stage`, `channel`, `source`, `medium`, `campaign`, `n`)
	SELECT l.`site_id`, t.`column1`, OLD.`at` / 86400000, OLD.`to_stage`,
	CASE t.`column1` WHEN 'first' THEN l.`ft_channel` ELSE l.`lt_channel` END,
	CASE t.`column1` WHEN 'first' THEN l.`ft_source` ELSE l.`lt_source` END,
	CASE t.`column1` WHEN 'first' THEN l.`ft_medium` ELSE l.`lt_medium` END,
	CASE t.`column1` WHEN 'first' THEN l.`ft_campaign` ELSE l.`lt_campaign` END, -1
	FROM `leads` l, (VALUES ('first'), ('last')) t WHERE l.`site_id` = OLD.`site_id` AND l.`lead_id` = OLD.`lead_id` AND l.`is_bot` = 0
	ON CONFLICT DO UPDATE SET `n` = `n` + excluded.`n`;
	DELETE FROM `stage_entry_touch_days` WHERE `site_id` = OLD.`site_id` AND `touch` IN ('first', 'last')
	AND `day` = OLD.`at` / 86400000 AND `stage` = OLD.`to_stage` AND `n` = 0;
	DELETE FROM `stage_dwell_touches` WHERE `site_id` = OLD.`site_id` AND `touch` IN ('first', 'last') AND `stage` = OLD.`from_stage`
	AND `from_at` = OLD.`from_at` AND `lead_id` = OLD.`lead_id` AND `to_stage` = OLD.`to_stage`;
END;--> statement-breakpoint
CREATE TRIGGER `stage_changes_touch_days_update` AFTER UPDATE OF `site_id`, `lead_id`, `to_stage`, `at`, `from_stage`, `from_at` ON `stage_changes`
WHEN OLD.`site_id` IS NOT NEW.`site_id` OR OLD.`lead_id` IS NOT NEW.`lead_id` OR OLD.`to_stage` IS NOT NEW.`to_stage` OR OLD.`at` IS NOT NEW.`at` OR OLD.`from_stage` IS NOT NEW.`from_stage` OR OLD.`from_at` IS NOT NEW.`from_at` BEGIN
	INSERT INTO `stage_entry_touch_days` (`site_id`, `touch`, `day`, `stage`, `channel`, `source`, `medium`, `campaign`, `n`)
	SELECT l.`site_id`, t.`column1`, OLD.`at` / 86400000, OLD.`to_stage`,
	CASE t.`column1` WHEN 'first' THEN l.`ft_channel` ELSE l.`lt_channel` END,
	CASE t.`column1` WHEN 'first' THEN l.`ft_source` ELSE l.`lt_source` END,
	CASE t.`column1` WHEN 'first' THEN l.`ft_medium` ELSE l.`lt_medium` END,
	CASE t.`column1` WHEN 'first' THEN l.`ft_campaign` ELSE l.`lt_campaign` END, -1
	FROM `leads` l, (VALUES ('first'), ('last')) t WHERE l.`site_id` = OLD.`site_id` AND l.`lead_id` = OLD.`lead_id` AND l.`is_bot` = 0
	ON CONFLICT DO UPDATE SET `n` = `n` + excluded.`n`;
	DELETE FROM `stage_entry_touch_days` WHERE `site_id` = OLD.`site_id` AND `touch` IN ('first', 'last')
	AND `day` = OLD.`at` / 86400000 AND `stage` = OLD.`to_stage` AND `n` = 0;
	DELETE FROM `stage_dwell_touches` WHERE `site_id` = OLD.`site_id` AND `touch` IN ('first', 'last') AND `stage` = OLD.`from_stage`
	AND `from_at` = OLD.`from_at` AND `lead_id` = OLD.`lead_id` AND `to_stage` = OLD.`to_stage`;
	INSERT INTO `stage_entry_touch_days` (`site_id`, `touch`, `day`, `stage`, `channel`, `source`, `medium`, `campaign`, `n`)
	SELECT l.`site_id`, t.`column1`, NEW.`at` / 86400000, NEW.`to_stage`,
	CASE t.`column1` WHEN 'first' THEN l.`ft_channel` ELSE l.`lt_channel` END,
	CASE t.`column1` WHEN 'first' THEN l.`ft_source` ELSE l.`lt_source` END,
	CASE t.`column1` WHEN 'first' THEN l.`ft_medium` ELSE l.`lt_medium` END,
	CASE t.`column1` WHEN 'first' THEN l.`ft_campaign` ELSE l.`lt_campaign` END, 1
	FROM `leads` l, (VALUES ('first'), ('last')) t WHERE l.`site_id` = NEW.`site_id` AND l.`lead_id` = NEW.`lead_id` AND l.`is_bot` = 0
	ON CONFLICT DO UPDATE SET `n` = `n` + excluded.`n`;
	INSERT INTO `stage_dwell_touches` (`site_id`, `touch`, `stage`, `from_at`, `lead_id`, `to_stage`, `channel`, `source`, `medium`, `campaign`, `d`)
	SELECT l.`site_id`, t.`column1`, NEW.`from_stage`, NEW.`from_at`, NEW.`lead_id`, NEW.`to_stage`,
	CASE t.`column1` WHEN 'first' THEN l.`ft_channel` ELSE l.`lt_channel` END,
	CASE t.`column1` WHEN 'first' THEN l.`ft_source` ELSE l.`lt_source` END,
	CASE t.`column1` WHEN 'first' THEN l.`ft_medium` ELSE l.`lt_medium` END,
	CASE t.`column1` WHEN 'first' THEN l.`ft_campaign` ELSE l.`lt_campaign` END, NEW.`at` - NEW.`from_at`
	FROM `leads` l, (VALUES ('first'), ('last')) t WHERE l.`site_id` = NEW.`site_id` AND l.`lead_id` = NEW.`lead_id` AND l.`is_bot` = 0
	AND NEW.`from_stage` IS NOT NULL AND NEW.`from_at` IS NOT NULL
	ON CONFLICT DO UPDATE SET `channel` = excluded.`channel`, `source` = excluded.`source`, `medium` = excluded.`medium`, `campaign` = excluded.`campaign`, `d` = excluded.`d`;
END;--> statement-breakpoint
-- Back-fill from the rows already stored: every lead and stage change read once, for both touches.
INSERT INTO `lead_touch_days` (`site_id`, `touch`, `day`, `stage`, `channel`, `source`, `medium`, `campaign`, `n`)
SELECT l.`site_id`, t.`column1`, l.`created_at` / 86400000, l.`stage`, CASE t.`column1` WHEN 'first' THEN l.`ft_channel` ELSE l.`lt_channel` END, CASE t.`column1` WHEN 'first' THEN l.`ft_source` ELSE l.`lt_source` END, CASE t.`column1` WHEN 'first' THEN l.`ft_medium` ELSE l.`lt_medium` END, CASE t.`column1` WHEN 'first' THEN l.`ft_campaign` ELSE l.`lt_campaign` END, COUNT(*)
FROM `leads` l CROSS JOIN (VALUES ('first'), ('last')) t WHERE l.`is_bot` = 0 GROUP BY 1, 2, 3, 4, 5, 6, 7, 8;--> statement-breakpoint
INSERT INTO `stage_entry_touch_days` (`site_id`, `touch`, `day`, `stage`, `channel`, `source`, `medium`, `campaign`, `n`)
SELECT sc.`site_id`, t.`column1`, sc.`at` / 86400000, sc.`to_stage`, CASE t.`column1` WHEN 'first' THEN l.`ft_channel` ELSE l.`lt_channel` END, CASE t.`column1` WHEN 'first' THEN l.`ft_source` ELSE l.`lt_source` END, CASE t.`column1` WHEN 'first' THEN l.`ft_medium` ELSE l.`lt_medium` END, CASE t.`column1` WHEN 'first' THEN l.`ft_campaign` ELSE l.`lt_campaign` END, COUNT(*)
FROM `stage_changes` sc JOIN `leads` l ON l.`site_id` = sc.`site_id` AND l.`lead_id` = sc.`lead_id` CROSS JOIN (VALUES ('first'), ('last')) t
WHERE l.`is_bot` = 0 GROUP BY 1, 2, 3, 4, 5, 6, 7, 8;--> statement-breakpoint
INSERT INTO `stage_dwell_touches` (`site_id`, `touch`, `stage`, `from_at`, `lead_id`, `to_stage`, `channel`, `source`, `medium`, `campaign`, `d`)
SELECT sc.`site_id`, t.`column1`, sc.`from_stage`, sc.`from_at`, sc.`lead_id`, sc.`to_stage`, CASE t.`column1` WHEN 'first' THEN l.`ft_channel` ELSE l.`lt_channel` END, CASE t.`column1` WHEN 'first' THEN l.`ft_source` ELSE l.`lt_source` END, CASE t.`column1` WHEN 'first' THEN l.`ft_medium` ELSE l.`lt_medium` END, CASE t.`column1` WHEN 'first' THEN l.`ft_campaign` ELSE l.`lt_campaign` END, sc.`at` - sc.`from_at`
FROM `stage_changes` sc JOIN `leads` l ON l.`site_id` = sc.`site_id` AND l.`lead_id` = sc.`lead_id` CROSS JOIN (VALUES ('first'), ('last')) t
WHERE l.`is_bot` = 0 AND sc.`from_stage` IS NOT NULL AND sc.`from_at` IS NOT NULL;