ALTER TABLE `leads` ADD `ft_channel` text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE `leads` ADD `ft_source` text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE `leads` ADD `ft_medium` text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE `leads` ADD `ft_campaign` text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE `leads` ADD `lt_channel` text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE `leads` ADD `lt_source` text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE `leads` ADD `lt_medium` text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE `leads` ADD `lt_campaign` text DEFAULT '' NOT NULL;--> statement-breakpoint
-- Back-fill from the JSON touches in one pass (text that is not JSON gives '', as no reader could parse it either).
UPDATE `leads` SET
  `ft_channel` = CASE WHEN json_valid(`first_touch`) THEN COALESCE(json_extract(`first_touch`, '$.channel'), '') ELSE '' END,
  `ft_source` = CASE WHEN json_valid(`first_touch`) THEN COALESCE(json_extract(`first_touch`, '$.utm_source'), '') ELSE '' END,
  `ft_medium` = CASE WHEN json_valid(`first_touch`) THEN COALESCE(json_extract(`first_touch`, '$.utm_medium'), '') ELSE '' END,
  `ft_campaign` = CASE WHEN json_valid(`first_touch`) THEN COALESCE(json_extract(`first_touch`, '$.utm_campaign'), '') ELSE '' END,
  `lt_channel` = CASE WHEN json_valid(`last_touch`) THEN COALESCE(json_extract(`last_touch`, '$.channel'), '') ELSE '' END,
  `lt_source` = CASE WHEN json_valid(`last_touch`) THEN COALESCE(json_extract(`last_touch`, '$.utm_source'), '') ELSE '' END,
  `lt_medium` = CASE WHEN json_valid(`last_touch`) THEN COALESCE(json_extract(`last_touch`, '$.utm_medium'), '') ELSE '' END,
  `lt_campaign` = CASE WHEN json_valid(`last_touch`) THEN COALESCE(json_extract(`last_touch`, '$.utm_campaign'), '') ELSE '' END
WHERE `first_touch` IS NOT NULL OR `last_touch` IS NOT NULL;
