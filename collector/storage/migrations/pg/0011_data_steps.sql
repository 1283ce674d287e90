CREATE TABLE "data_steps" (
	"site_id" text DEFAULT '' NOT NULL,
	"name" text NOT NULL,
	"done_at" bigint NOT NULL,
	CONSTRAINT "data_steps_site_id_name_pk" PRIMARY KEY("site_id","name")
);
