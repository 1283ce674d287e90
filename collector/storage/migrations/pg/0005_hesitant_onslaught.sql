CREATE TABLE "segment_counts" (
	"site_id" text NOT NULL,
	"segment_key" text NOT NULL,
	"shard" integer NOT NULL,
	"n" integer DEFAULT 0 NOT NULL,
	CONSTRAINT "segment_counts_site_id_segment_key_shard_pk" PRIMARY KEY("site_id","segment_key","shard")
);
