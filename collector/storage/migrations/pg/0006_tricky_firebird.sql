ALTER TABLE "leads" ADD COLUMN "ft_channel" text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE "leads" ADD COLUMN "ft_source" text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE "leads" ADD COLUMN "ft_medium" text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE "leads" ADD COLUMN "ft_campaign" text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE "leads" ADD COLUMN "lt_channel" text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE "leads" ADD COLUMN "lt_source" text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE "leads" ADD COLUMN "lt_medium" text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE "leads" ADD COLUMN "lt_campaign" text DEFAULT '' NOT NULL;--> statement-breakpoint
-- Back-fill from the JSON touches in one pass. Should any row's text not parse, or hold an escape PostgreSQL cannot
-- turn into text (\u0000, a lone surrogate), the pass is redone with a parse per value that gives '' for such a row.
CREATE FUNCTION "funnelbeam_touch_key"(touch text, field text) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  RETURN COALESCE(touch::json ->> field, '');
EXCEPTION WHEN others THEN
  RETURN '';
END
$$;--> statement-breakpoint
DO $$
BEGIN
  UPDATE "leads" SET
    "ft_channel" = COALESCE("first_touch"::json ->> 'channel', ''),
    "ft_source" = COALESCE("first_touch"::json ->> 'utm_source', ''),
    "ft_medium" = COALESCE("first_touch"::json ->> 'utm_medium', ''),
    "ft_campaign" = COALESCE("first_touch"::json ->> 'utm_campaign', ''),
    "lt_channel" = COALESCE("last_touch"::json ->> 'channel', ''),
    "lt_source" = COALESCE("last_touch"::json ->> 'utm_source', ''),
    "lt_medium" = COALESCE("last_touch"::json ->> 'utm_medium', ''),
    "lt_campaign" = COALESCE("last_touch"::json ->> 'utm_campaign', '')
  WHERE "first_touch" IS NOT NULL OR "last_touch" IS NOT NULL;
EXCEPTION WHEN others THEN
  UPDATE "leads" SET
    "ft_channel" = "funnelbeam_touch_key"("first_touch", 'channel'),
    "ft_source" = "funnelbeam_touch_key"("first_touch", 'utm_source'),
    "ft_medium" = "funnelbeam_touch_key"("first_touch", 'utm_medium'),
    "ft_campaign" = "funnelbeam_touch_key"("first_touch", 'utm_campaign'),
    "lt_channel" = "funnelbeam_touch_key"("last_touch", 'channel'),
    "lt_source" = "funnelbeam_touch_key"("last_touch", 'utm_source'),
    "lt_medium" = "funnelbeam_touch_key"("last_touch", 'utm_medium'),
    "lt_campaign" = "funnelbeam_touch_key"("last_touch", 'utm_campaign')
  WHERE "first_touch" IS NOT NULL OR "last_touch" IS NOT NULL;
END
$$;--> statement-breakpoint
DROP FUNCTION "funnelbeam_touch_key"(text, text);
