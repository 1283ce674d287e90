ALTER TABLE "leads" ADD COLUMN "mql_announced_at" bigint;--> statement-breakpoint
-- a lead that is an MQL already told its lead.mql (or was made one by a replay, which tells none): either way no
-- later crossing announces it again
UPDATE "leads" SET "mql_announced_at" = "mql_at" WHERE "mql_at" IS NOT NULL;
