CREATE TABLE "lead_aliases" (
	"site_id" text NOT NULL,
	"merged_lead_id" text NOT NULL,
	"lead_id" text NOT NULL,
	CONSTRAINT "lead_aliases_site_id_merged_lead_id_pk" PRIMARY KEY("site_id","merged_lead_id")
);
--> statement-breakpoint
CREATE INDEX "lead_aliases_lead" ON "lead_aliases" USING btree ("site_id","lead_id");