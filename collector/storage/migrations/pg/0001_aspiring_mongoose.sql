ALTER TABLE "stage_changes" ADD COLUMN "from_at" bigint;--> statement-breakpoint
CREATE INDEX "leads_funnel" ON "leads" USING btree ("site_id","is_bot","created_at","stage");--> statement-breakpoint
CREATE INDEX "leads_activity" ON "leads" USING btree ("site_id","updated_at");--> statement-breakpoint
CREATE INDEX "stage_changes_dwell" ON "stage_changes" USING btree ("site_id","from_stage","from_at","at");