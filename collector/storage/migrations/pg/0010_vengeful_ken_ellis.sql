DROP INDEX "segment_members_lead";--> statement-breakpoint
CREATE INDEX "segment_members_lead" ON "segment_members" USING btree ("site_id","lead_id","segment_key");